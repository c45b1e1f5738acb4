// Runs `total` calls with at most `concurrency` in flight on one io_context, reporting
// progress; returns the wall time in seconds. Shared by the flow and the phase benchmarks.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>

#include "tigerfans/core/async.hpp"
#include "tigerfans/http/client.hpp"
#include "tigerfans/loadgen/load.hpp"

namespace tigerfans::loadgen {

using Call = std::function<asio::awaitable<void>(int index)>;

double run_calls(asio::io_context& io, int total, int concurrency, const Call& call,
                 const Progress& progress = {});

}  // namespace tigerfans::loadgen

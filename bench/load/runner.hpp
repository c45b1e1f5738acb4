// Runs `total` calls with at most `concurrency` in flight on one io_context, reporting
// progress; returns the wall time in seconds. Each of the `concurrency` workers owns one
// keep-alive connection for all its calls. Shared by the flow and the phase benchmarks.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

#include "load/connection.hpp"
#include "load/load.hpp"

namespace tigerfans::loadgen {

using Call = std::function<asio::awaitable<void>(int index, Connection& connection)>;

struct RunOptions {
    tcp::endpoint server;
    int total = 0;
    int concurrency = 1;
    std::chrono::milliseconds request_timeout{30'000};
};

// Resolves the target once, before any call is timed. Throws std::runtime_error when the host
// does not resolve.
tcp::endpoint resolve(const Target& target);

double run_calls(asio::io_context& io, const RunOptions& options, const Call& call,
                 const Progress& progress = {});

}  // namespace tigerfans::loadgen

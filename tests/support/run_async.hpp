// Runs coroutines to completion from a plain test body: store and batcher tests co_await the
// real API without a server around it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <utility>

namespace tigerfans::testing {

// Runs `make()`'s awaitable on `io` until it completes and returns its value; other work on
// `io` (batchers, timers) runs meanwhile. Rethrows the coroutine's exception.
template <typename MakeAwaitable>
auto run_async(boost::asio::io_context& io, MakeAwaitable make) {
    using T = typename decltype(make())::value_type;
    std::optional<T> value;
    std::exception_ptr failure;
    bool finished = false;
    boost::asio::co_spawn(io, make(), [&](std::exception_ptr error, T result) {
        failure = error;
        if (!error) value.emplace(std::move(result));
        finished = true;
    });
    io.restart();
    while (!finished && io.run_one() > 0) {
    }
    if (failure) std::rethrow_exception(failure);
    return std::move(*value);
}

}  // namespace tigerfans::testing

// Runs coroutines from a plain test body, to completion or only started: store and batcher
// tests co_await the real API without a server around it.
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

// Starts `awaitable` on `io` without running the loop: its value lands in `into` once it
// completes, which the caller keeps alive until then. Its exception is rethrown from the loop.
template <typename T>
void start_async(boost::asio::io_context& io, boost::asio::awaitable<T> awaitable,
                 std::optional<T>& into) {
    boost::asio::co_spawn(io, std::move(awaitable), [&into](std::exception_ptr failure, T value) {
        if (failure) std::rethrow_exception(failure);
        into.emplace(std::move(value));
    });
}

}  // namespace tigerfans::testing

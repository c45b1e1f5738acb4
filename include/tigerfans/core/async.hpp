// The loop's small async vocabulary: awaiting a completion that other code (a batcher, a foreign
// thread's posted result) fills in later, and completing it without resuming the waiter inline.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace tigerfans {

namespace asio = boost::asio;

template <typename T>
using Completion = asio::any_completion_handler<void(T)>;

// Suspends the calling coroutine and hands `start` the handler that resumes it with a T.
template <typename T, typename Start>
asio::awaitable<T> await_completion(Start&& start) {
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
        [&start](auto handler) { start(Completion<T>(std::move(handler))); }, asio::use_awaitable);
}

// Resumes the waiter on its own executor in a later turn of the loop, so that code completing
// many waiters (a batcher's result loop) never runs their continuations on its own stack.
template <typename T>
void complete_later(const asio::any_io_executor& executor, Completion<T> handler, T value) {
    asio::post(executor, [handler = std::move(handler), value = std::move(value)]() mutable {
        std::move(handler)(std::move(value));
    });
}

}  // namespace tigerfans

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

// Suspends the calling coroutine and hands `start` the handler that resumes it with a T. No
// coroutine of its own: `start` is moved into the awaitable that async_initiate returns, which
// runs it once awaited, so each wait costs one frame fewer. A lambda written inside the
// co_await expression must capture only references, `this` or plain values: GCC 12 destroys
// such a temporary twice, which is harmless only when destroying it does nothing.
template <typename T, typename Start>
asio::awaitable<T> await_completion(Start&& start) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
        [start = std::forward<Start>(start)](auto handler) mutable {
            start(Completion<T>(std::move(handler)));
        },
        asio::use_awaitable);
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

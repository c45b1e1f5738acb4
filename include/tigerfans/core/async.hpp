// The loop's small async vocabulary: awaiting a completion that other code (a batcher, a foreign
// thread's posted result) fills in later, and completing it without resuming the waiter inline.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <optional>
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

// An operation started now and awaited later, for a call that need not wait for another one the
// caller makes meanwhile. It runs at once up to its first wait (so a store call is on its way
// before the caller's next one); one spawned coroutine, with neither the cancellation nor the
// per-branch state of a parallel group. join() gives the operation's result, or throws
// what it threw; call it once. Should the joining coroutine be destroyed first, the operation
// still runs to its end and its result is dropped.
template <typename T>
class Forked {
public:
    Forked(const asio::any_io_executor& executor, asio::awaitable<T> operation)
        : state_(std::make_shared<State>()) {
        asio::co_spawn(executor, std::move(operation),
                       [ending = Ending{state_}](std::exception_ptr error, T value) mutable {
                           ending.end(error, std::move(value));
                       });
    }

    asio::awaitable<T> join() {
        if (!state_->value) {
            co_await await_completion<bool>(
                [this](Completion<bool> handler) { state_->waiter.emplace(std::move(handler)); });
        }
        if (state_->error) std::rethrow_exception(state_->error);
        co_return std::move(*state_->value);
    }

private:
    struct State {
        std::optional<T> value;  // Set when the operation ended (default-made if it threw).
        std::exception_ptr error;
        std::optional<Completion<bool>> waiter;
    };

    // The operation's completion. Destroyed without being called (the loop torn down with the
    // operation pending), it drops the waiter: the waiter owns the joining coroutine's frames,
    // which own this state, and nothing else would ever free them.
    class Ending {
    public:
        explicit Ending(std::shared_ptr<State> state) : state_(std::move(state)) {}
        Ending(Ending&&) noexcept = default;
        Ending& operator=(Ending&&) noexcept = default;
        Ending(const Ending&) = delete;
        Ending& operator=(const Ending&) = delete;
        ~Ending() {
            if (state_) state_->waiter.reset();
        }

        void end(std::exception_ptr error, T value) {
            const std::shared_ptr<State> state = std::move(state_);
            state->error = error;
            state->value.emplace(std::move(value));
            if (!state->waiter) return;
            Completion<bool> waiter = std::move(*state->waiter);
            state->waiter.reset();
            std::move(waiter)(true);
        }

    private:
        std::shared_ptr<State> state_;  // Empty once ended or moved from.
    };

    std::shared_ptr<State> state_;
};

}  // namespace tigerfans

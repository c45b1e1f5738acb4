// Work a request starts but does not wait for: each task runs on the loop in a later turn (so
// after the answer that started it is written), counted, so that a shutdown waits for it before
// the stores it uses close. At most `pending_max` tasks are pending at once; beyond that, and
// once stopped, the caller runs the task itself before going on, so memory stays bounded.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <list>

namespace tigerfans {

namespace asio = boost::asio;

class BackgroundTasks {
public:
    BackgroundTasks(asio::any_io_executor executor, std::size_t pending_max);
    // After drain() or stop(); the loop must not run a pending task after this (it reports its
    // end to this object).
    ~BackgroundTasks();
    BackgroundTasks(const BackgroundTasks&) = delete;
    BackgroundTasks& operator=(const BackgroundTasks&) = delete;

    // Starts `task` in a later turn of the loop and returns at once; with `pending_max` tasks
    // pending, or after stop(), awaits it here instead. A background task that throws is
    // logged; one awaited here throws to the caller.
    asio::awaitable<void> run(asio::awaitable<void> task);

    // Starts `task` as run() does, but only while fewer than half of `pending_max` tasks are
    // pending and stop() has not been called; otherwise drops it unstarted and returns false.
    // For work that may be left undone (it ends by itself in time): it never makes the caller
    // wait, and never crowds out the tasks run() must start.
    bool try_run(asio::awaitable<void> task);

    // Waits until no task is pending.
    asio::awaitable<void> drain();

    // Starts no more tasks (run() awaits them itself from now on) and waits for the pending
    // ones, at most `timeout`. Returns how many are still pending.
    asio::awaitable<std::size_t> stop(std::chrono::milliseconds timeout);

    std::size_t pending() const { return pending_; }
    bool stopped() const { return stopped_; }

private:
    using Clock = asio::steady_timer::clock_type;

    void start(asio::awaitable<void> task);
    asio::awaitable<void> wait_idle(Clock::time_point deadline);
    void finished(std::exception_ptr failure);

    asio::any_io_executor executor_;
    std::size_t pending_max_;
    std::size_t pending_ = 0;
    bool stopped_ = false;
    std::list<asio::steady_timer*> waiters_;  // Cancelled when the last pending task ends.
};

}  // namespace tigerfans

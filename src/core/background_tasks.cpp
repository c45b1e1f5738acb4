// Counted background tasks on the loop.
#include "tigerfans/core/background_tasks.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/exception_text.hpp"

namespace tigerfans {

namespace {
// Yields to the loop first: whatever started the task (a handler writing its answer) goes on
// in this turn, the task in a later one.
asio::awaitable<void> in_a_later_turn(asio::any_io_executor executor, asio::awaitable<void> task) {
    co_await asio::post(executor, asio::use_awaitable);
    co_await std::move(task);
}

void log_failure(const std::exception_ptr& failure) {
    spdlog::error("a background task threw: {}", exception_text(failure));
}

// Keeps a waiter's timer in the list for exactly as long as the waiter waits.
class WaiterEntry {
public:
    WaiterEntry(std::list<asio::steady_timer*>& list, asio::steady_timer& timer)
        : list_(list), self_(list.insert(list.end(), &timer)) {}
    ~WaiterEntry() { list_.erase(self_); }
    WaiterEntry(const WaiterEntry&) = delete;
    WaiterEntry& operator=(const WaiterEntry&) = delete;

private:
    std::list<asio::steady_timer*>& list_;
    std::list<asio::steady_timer*>::iterator self_;
};
}  // namespace

BackgroundTasks::BackgroundTasks(asio::any_io_executor executor, std::size_t pending_max)
    : executor_(std::move(executor)), pending_max_(pending_max) {}

// A task still pending here is one shutdown gave up on (stop() timed out); the loop that runs
// it is destroyed after this object and never resumes it, so it never reports back.
BackgroundTasks::~BackgroundTasks() {
    if (pending_ > 0) spdlog::warn("{} background tasks never finished", pending_);
}

asio::awaitable<void> BackgroundTasks::run(asio::awaitable<void> task) {
    if (stopped_ || pending_ >= pending_max_) {
        co_await std::move(task);
        co_return;
    }
    start(std::move(task));
}

bool BackgroundTasks::try_run(asio::awaitable<void> task) {
    if (stopped_ || pending_ >= pending_max_ / 2) return false;
    start(std::move(task));
    return true;
}

void BackgroundTasks::start(asio::awaitable<void> task) {
    pending_++;
    auto later = in_a_later_turn(executor_, std::move(task));
    asio::co_spawn(executor_, std::move(later),
                   [this](std::exception_ptr failure) { finished(failure); });
}

asio::awaitable<void> BackgroundTasks::drain() { co_await wait_idle(Clock::time_point::max()); }

asio::awaitable<std::size_t> BackgroundTasks::stop(std::chrono::milliseconds timeout) {
    stopped_ = true;
    co_await wait_idle(Clock::now() + timeout);
    co_return pending_;
}

// Returns once no task is pending or at `deadline`, whichever comes first.
asio::awaitable<void> BackgroundTasks::wait_idle(Clock::time_point deadline) {
    asio::steady_timer wake(executor_, deadline);
    const WaiterEntry entry(waiters_, wake);
    boost::system::error_code ignored;
    while (pending_ > 0 && Clock::now() < deadline) {
        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
}

void BackgroundTasks::finished(std::exception_ptr failure) {
    TF_ASSERT_GT(pending_, 0u);
    pending_--;
    if (failure) log_failure(failure);
    if (pending_ > 0) return;
    for (asio::steady_timer* waiter : waiters_) waiter->cancel();
}

}  // namespace tigerfans

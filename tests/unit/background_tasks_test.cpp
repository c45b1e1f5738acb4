// BackgroundTasks: a task runs after the turn that started it and is counted until it ends;
// beyond the limit and after stop() the caller awaits it; drain() and stop() wait for the
// pending ones (stop() at most its timeout); a task that throws is logged and still counted off;
// try_run() drops its task instead of waiting, past half the limit and after stop().
#include "tigerfans/core/background_tasks.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>

#include "support/log_capture.hpp"
#include "support/run_async.hpp"

namespace tigerfans {
namespace {

class BackgroundTasksTest : public ::testing::Test {
protected:
    ~BackgroundTasksTest() override {
        release();
        run_ready();
    }

    // A task that counts its end in `ended`, after waiting for release() when `held`.
    asio::awaitable<void> task(bool held) {
        if (held) {
            boost::system::error_code released;
            co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, released));
        }
        ended++;
    }

    // Hands `through.run()` a task and runs the loop as far as it goes without waiting;
    // returns whether run() returned.
    bool run_task(BackgroundTasks& through, bool held) {
        const int before = returned;
        asio::co_spawn(io, through.run(task(held)), [this](std::exception_ptr failure) {
            if (failure) std::rethrow_exception(failure);
            returned++;
        });
        run_ready();
        return returned > before;
    }

    void release() { gate.cancel(); }

    void run_ready() {
        io.restart();
        io.poll();
    }

    asio::io_context io;
    asio::steady_timer gate{io, asio::steady_timer::time_point::max()};
    BackgroundTasks tasks{io.get_executor(), 2};
    int ended = 0;
    int returned = 0;  // Calls of run() that returned.
};

TEST_F(BackgroundTasksTest, ATaskRunsAfterTheTurnThatStartedItAndIsCountedUntilItEnds) {
    std::optional<int> ended_when_run_returned;
    std::size_t pending_when_run_returned = 0;
    const auto caller = [&]() -> asio::awaitable<void> {
        co_await tasks.run(task(false));
        ended_when_run_returned = ended;
        pending_when_run_returned = tasks.pending();
    };
    asio::co_spawn(io, caller(), [](std::exception_ptr failure) {
        if (failure) std::rethrow_exception(failure);
    });
    run_ready();
    EXPECT_EQ(ended_when_run_returned, std::optional<int>(0));
    EXPECT_EQ(pending_when_run_returned, 1u);
    EXPECT_EQ(ended, 1);
    EXPECT_EQ(tasks.pending(), 0u);
}

TEST_F(BackgroundTasksTest, BeyondTheLimitTheCallerAwaitsTheTask) {
    EXPECT_TRUE(run_task(tasks, true));
    EXPECT_TRUE(run_task(tasks, true));
    EXPECT_EQ(tasks.pending(), 2u);
    EXPECT_FALSE(run_task(tasks, true));  // The third waits in its caller.
    EXPECT_EQ(tasks.pending(), 2u);
    release();
    run_ready();
    EXPECT_EQ(ended, 3);
    EXPECT_EQ(tasks.pending(), 0u);
}

TEST_F(BackgroundTasksTest, DrainWaitsForEveryPendingTask) {
    run_task(tasks, true);
    run_task(tasks, true);
    bool drained = false;
    asio::co_spawn(io, tasks.drain(), [&drained](std::exception_ptr failure) {
        if (failure) std::rethrow_exception(failure);
        drained = true;
    });
    run_ready();
    EXPECT_FALSE(drained);
    release();
    run_ready();
    EXPECT_TRUE(drained);
    EXPECT_EQ(ended, 2);
    EXPECT_FALSE(
        tasks.stopped());  // Draining is not stopping: new tasks still go to the background.
    EXPECT_TRUE(run_task(tasks, false));
}

TEST_F(BackgroundTasksTest, StopWaitsForThePendingTasksAndThenTheCallerAwaitsNewOnes) {
    run_task(tasks, true);
    std::optional<std::size_t> left;
    testing::start_async(io, tasks.stop(std::chrono::minutes(1)), left);
    run_ready();
    EXPECT_FALSE(left.has_value());
    EXPECT_TRUE(tasks.stopped());
    release();
    run_ready();
    EXPECT_EQ(left, std::optional<std::size_t>(0));
    EXPECT_TRUE(run_task(tasks, false));
    EXPECT_EQ(ended, 2);  // Already ended when run() returned.
    EXPECT_EQ(tasks.pending(), 0u);
}

TEST_F(BackgroundTasksTest, StopGivesUpAfterItsTimeoutAndSaysHowManyAreLeft) {
    run_task(tasks, true);
    const std::size_t left =
        testing::run_async(io, [&] { return tasks.stop(std::chrono::milliseconds(1)); });
    EXPECT_EQ(left, 1u);
    EXPECT_EQ(ended, 0);
    release();
    run_ready();
    EXPECT_EQ(ended, 1);
    EXPECT_EQ(tasks.pending(), 0u);
}

TEST_F(BackgroundTasksTest, TryRunStartsOnlyWhileHalfTheLimitIsFreeAndNeverAfterStop) {
    BackgroundTasks four{io.get_executor(), 4};
    EXPECT_TRUE(four.try_run(task(true)));
    EXPECT_TRUE(four.try_run(task(true)));
    EXPECT_FALSE(four.try_run(task(true)));  // Dropped: the other half is run()'s.
    EXPECT_EQ(four.pending(), 2u);
    EXPECT_TRUE(run_task(four, true));  // run() still starts its task in the background.
    EXPECT_EQ(four.pending(), 3u);
    release();
    run_ready();
    EXPECT_EQ(ended, 3);  // The dropped one never ran.
    EXPECT_EQ(testing::run_async(io, [&] { return four.stop(std::chrono::seconds(1)); }), 0u);
    EXPECT_FALSE(four.try_run(task(false)));
    run_ready();
    EXPECT_EQ(ended, 3);
}

TEST_F(BackgroundTasksTest, ATaskThatThrowsIsLoggedAndCountedOff) {
    const testing::LogCapture log;
    auto throwing = []() -> asio::awaitable<void> {
        throw std::runtime_error("the task broke");
        co_return;
    };
    asio::co_spawn(io, tasks.run(throwing()), [](std::exception_ptr failure) {
        if (failure) std::rethrow_exception(failure);
    });
    run_ready();
    EXPECT_EQ(tasks.pending(), 0u);
    EXPECT_NE(log.text().find("a background task threw: the task broke"), std::string::npos)
        << log.text();
}

}  // namespace
}  // namespace tigerfans

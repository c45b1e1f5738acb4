// Forked: the operation starts at once and runs up to its first wait, goes on while the caller
// awaits something else, and join() gives its value whether it ended before or after the join; what
// it throws comes out of join(); a caller gone before the end drops the result without harm.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/run_async.hpp"
#include "tigerfans/core/async.hpp"

namespace tigerfans {
namespace {

// Records `name` in `log` when it starts, waits for `gate` (when given) and returns `name`. (A
// plain pointer for the name: no owning temporary inside a co_await expression, for GCC 12.)
asio::awaitable<std::string> step(std::vector<std::string>& log, const char* name,
                                  asio::steady_timer* gate) {
    log.push_back(std::string(name) + " starts");
    if (gate != nullptr) {
        boost::system::error_code opened;
        co_await gate->async_wait(asio::redirect_error(asio::use_awaitable, opened));
    }
    log.push_back(std::string(name) + " ends");
    co_return std::string(name);
}

// Sets `freed` when the coroutine holding it is destroyed, run to its end or not.
struct Sentinel {
    bool& freed;
    ~Sentinel() { freed = true; }
};

// Joins an operation that waits for `gate`, holding a Sentinel meanwhile.
asio::awaitable<void> join_behind(std::vector<std::string>& log, asio::steady_timer& gate,
                                  bool& freed) {
    const Sentinel sentinel{freed};
    Forked<std::string> forked(co_await asio::this_coro::executor, step(log, "forked", &gate));
    co_await forked.join();
}

asio::awaitable<int> throws() {
    co_await asio::this_coro::executor;
    throw std::runtime_error("refused");
}

TEST(Forked, RunsWhileTheCallerAwaitsAnotherCallAndJoinsAfterIt) {
    asio::io_context io;
    asio::steady_timer gate(io, asio::steady_timer::time_point::max());
    std::vector<std::string> log;
    const std::string joined = testing::run_async(io, [&]() -> asio::awaitable<std::string> {
        Forked<std::string> forked(co_await asio::this_coro::executor, step(log, "forked", &gate));
        log.push_back("caller goes on");
        // The caller's own call, made while the forked one waits at its gate.
        std::string own = co_await step(log, "own", nullptr);
        gate.cancel();
        std::string other = co_await forked.join();
        co_return own + "+" + other;
    });
    EXPECT_EQ(joined, "own+forked");
    const std::vector<std::string> expected{"forked starts", "caller goes on", "own starts",
                                            "own ends", "forked ends"};
    EXPECT_EQ(log, expected);
}

TEST(Forked, AJoinAfterTheOperationEndedGetsItsValue) {
    asio::io_context io;
    std::vector<std::string> log;
    const std::string joined = testing::run_async(io, [&]() -> asio::awaitable<std::string> {
        Forked<std::string> forked(co_await asio::this_coro::executor,
                                   step(log, "forked", nullptr));
        asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
        co_await pause.async_wait(asio::use_awaitable);
        log.push_back("joins");
        co_return co_await forked.join();
    });
    EXPECT_EQ(joined, "forked");
    const std::vector<std::string> expected{"forked starts", "forked ends", "joins"};
    EXPECT_EQ(log, expected);
}

TEST(Forked, WhatTheOperationThrowsComesOutOfJoin) {
    asio::io_context io;
    EXPECT_THROW(testing::run_async(io,
                                    [&]() -> asio::awaitable<int> {
                                        Forked<int> forked(co_await asio::this_coro::executor,
                                                           throws());
                                        co_return co_await forked.join();
                                    }),
                 std::runtime_error);
}

TEST(Forked, ACallerGoneFirstLeavesTheOperationToEndAlone) {
    asio::io_context io;
    asio::steady_timer gate(io, asio::steady_timer::time_point::max());
    std::vector<std::string> log;
    EXPECT_THROW(testing::run_async(io,
                                    [&]() -> asio::awaitable<int> {
                                        Forked<std::string> forked(
                                            co_await asio::this_coro::executor,
                                            step(log, "forked", &gate));
                                        co_await asio::this_coro::executor;
                                        throw std::runtime_error("caller dies");
                                    }),
                 std::runtime_error);
    gate.cancel();
    io.restart();
    io.run();
    const std::vector<std::string> expected{"forked starts", "forked ends"};
    EXPECT_EQ(log, expected);
}

// The loop goes with the operation still waiting and the caller waiting on it: the caller's
// frames are freed all the same (the waiter it left must not keep them alive).
TEST(Forked, ALoopTornDownMidwayFreesTheWaitingCaller) {
    bool freed = false;
    std::vector<std::string> log;
    {
        asio::io_context io;
        asio::steady_timer gate(io, asio::steady_timer::time_point::max());
        asio::co_spawn(io, join_behind(log, gate, freed), asio::detached);
        io.poll();
        ASSERT_EQ(log, std::vector<std::string>{"forked starts"});
        ASSERT_FALSE(freed);
    }
    EXPECT_TRUE(freed);
}

}  // namespace
}  // namespace tigerfans

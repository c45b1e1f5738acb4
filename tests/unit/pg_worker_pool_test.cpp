// The worker pool behind a PostgreSQL batcher, with stand-in workers: a batch takes the first
// idle worker and gives it back when it ends; an AutoBatcher with as many batches in flight as
// there are workers always finds one idle, runs each batch in flight on a worker of its own, and
// answers every caller; taking a worker when none is idle is a bug that stops the process.
#include "postgres/worker_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tigerfans/core/auto_batcher.hpp"

namespace tigerfans::postgres {
namespace {

// Stands in for a database worker: only its name matters here.
struct FakeWorker {
    std::string name;
};

using Pool = WorkerPool<FakeWorker>;
using Batcher = AutoBatcher<int, int>;

TEST(WorkerPool, ALeaseHoldsTheFirstIdleWorkerUntilItEnds) {
    FakeWorker a{"a"};
    FakeWorker b{"b"};
    FakeWorker c{"c"};
    Pool pool({&a, &b, &c});
    EXPECT_EQ(pool.size(), 3u);
    {
        const Pool::Lease first = pool.take();
        EXPECT_EQ(first.worker().name, "a");
        {
            const Pool::Lease second = pool.take();
            EXPECT_EQ(second.worker().name, "b");
            EXPECT_EQ(pool.idle(), 1u);
        }
        EXPECT_EQ(pool.idle(), 2u);
        const Pool::Lease again = pool.take();  // b is idle again and comes before c.
        EXPECT_EQ(again.worker().name, "b");
    }
    EXPECT_EQ(pool.idle(), 3u);
}

TEST(WorkerPool, AMovedLeaseGivesItsWorkerBackOnce) {
    FakeWorker a{"a"};
    Pool pool({&a});
    {
        Pool::Lease lease = pool.take();
        const Pool::Lease moved = std::move(lease);
        EXPECT_EQ(moved.worker().name, "a");
        EXPECT_EQ(pool.idle(), 0u);
    }
    EXPECT_EQ(pool.idle(), 1u);
}

TEST(WorkerPoolDeathTest, TakingAWorkerWhenNoneIsIdleStopsTheProcess) {
    FakeWorker a{"a"};
    Pool pool({&a});
    const Pool::Lease held = pool.take();
    EXPECT_DEATH(pool.take(), "all 1 workers are busy");
}

// An AutoBatcher whose batches each take a worker from the pool and wait at a gate the test
// opens, then answer every item negated.
class PooledBatcherTest : public ::testing::Test {
protected:
    PooledBatcherTest() { gate_.expires_at(asio::steady_timer::time_point::max()); }

    std::unique_ptr<Batcher> make_batcher() {
        return std::make_unique<Batcher>(
            io_.get_executor(), [this](std::span<int> items) { return execute(items); }, 1000,
            10'000, BatcherObserver{}, pool_.size());
    }

    asio::awaitable<Result<std::vector<int>>> execute(std::span<int> items) {
        const Pool::Lease lease = pool_.take();
        batches_.emplace_back(lease.worker().name, items.size());
        in_flight_++;
        in_flight_max_ = std::max(in_flight_max_, in_flight_);
        boost::system::error_code ignored;
        co_await gate_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        in_flight_--;
        std::vector<int> negated;
        for (int item : items) negated.push_back(-item);
        co_return negated;
    }

    // Submits items first .. first + count - 1 in one turn, one submission each, and lets their
    // batch start if a lane is free; each answer lands in results_ at its item's index.
    void submit(Batcher& batcher, int first, int count) {
        for (int i = first; i < first + count; i++) {
            asio::co_spawn(io_, batcher.submit_one(i),
                           [this, i](std::exception_ptr, Result<int> result) {
                               results_[static_cast<std::size_t>(i)] = result ? *result : 1'000;
                           });
        }
        io_.restart();
        io_.poll();
    }

    void open_gate_and_finish() {
        gate_.cancel();
        // Batches begun after the cancel find the gate open (it expired at cancel time).
        gate_.expires_at(asio::steady_timer::time_point::min());
        io_.restart();
        io_.run();
    }

    asio::io_context io_;
    asio::steady_timer gate_{io_};
    FakeWorker a_{"a"};
    FakeWorker b_{"b"};
    FakeWorker c_{"c"};
    Pool pool_{{&a_, &b_, &c_}};
    std::vector<std::pair<std::string, std::size_t>> batches_;  // (worker, items) as begun.
    int in_flight_ = 0;
    int in_flight_max_ = 0;
    std::vector<int> results_ = std::vector<int>(100, 0);
};

TEST_F(PooledBatcherTest, EachBatchInFlightRunsOnAWorkerOfItsOwn) {
    auto batcher = make_batcher();
    submit(*batcher, 1, 1);
    submit(*batcher, 2, 2);
    submit(*batcher, 4, 3);
    EXPECT_EQ(in_flight_, 3);  // Three batches on three workers.
    EXPECT_EQ(pool_.idle(), 0u);
    submit(*batcher, 7, 4);  // No lane is free: these four wait for the first batch to end.
    EXPECT_EQ(batches_.size(), 3u);
    open_gate_and_finish();
    for (int i = 1; i <= 10; i++) EXPECT_EQ(results_[static_cast<std::size_t>(i)], -i) << i;
    EXPECT_EQ(in_flight_max_, 3);
    EXPECT_EQ(pool_.idle(), 3u);
    // The queued four follow the first batch on the worker it gave back.
    const std::vector<std::pair<std::string, std::size_t>> expected = {
        {"a", 1}, {"b", 2}, {"c", 3}, {"a", 4}};
    EXPECT_EQ(batches_, expected);
}

// One batch at a time, each answered before the next is submitted: all run on the first worker.
TEST_F(PooledBatcherTest, BatchesOneAfterAnotherRunOnTheFirstWorker) {
    auto batcher = make_batcher();
    gate_.expires_at(asio::steady_timer::time_point::min());
    for (int i = 1; i <= 3; i++) {
        submit(*batcher, i, 1);
        io_.run();
        EXPECT_EQ(results_[static_cast<std::size_t>(i)], -i);
    }
    const std::vector<std::pair<std::string, std::size_t>> expected = {
        {"a", 1}, {"a", 1}, {"a", 1}};
    EXPECT_EQ(batches_, expected);
    EXPECT_EQ(in_flight_max_, 1);
}

}  // namespace
}  // namespace tigerfans::postgres

// The automatic batcher: one batch in flight, everything queued meanwhile goes out next,
// results map back to each caller in order, faults reach every caller of the batch.
#include "tigerfans/core/auto_batcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/run_async.hpp"

namespace tigerfans {
namespace {

using Batcher = AutoBatcher<int, int>;

// Doubles every item after a short pause, recording each batch's size.
struct DoublingStore {
    std::vector<std::size_t> batch_sizes;
    bool fail = false;

    Batcher::Execute execute(asio::io_context& io) {
        return [this, &io](std::span<int> items) -> asio::awaitable<Result<std::vector<int>>> {
            batch_sizes.push_back(items.size());
            asio::steady_timer pause(io, std::chrono::milliseconds(5));
            co_await pause.async_wait(asio::use_awaitable);
            if (fail) co_return Fault::unavailable;
            std::vector<int> doubled;
            for (int item : items) doubled.push_back(item * 2);
            co_return doubled;
        };
    }
};

// Submits `count` single items concurrently and returns each caller's result by index.
std::vector<int> submit_concurrently(asio::io_context& io, Batcher& batcher, int count) {
    std::vector<int> results(static_cast<std::size_t>(count), -1);
    int finished = 0;
    for (int i = 0; i < count; i++) {
        asio::co_spawn(io, batcher.submit_one(i), [&, i](std::exception_ptr, Result<int> result) {
            results[static_cast<std::size_t>(i)] = result ? *result : -100;
            finished++;
        });
    }
    io.restart();
    while (finished < count && io.run_one() > 0) {
    }
    return results;
}

TEST(AutoBatcher, PacksEverythingQueuedWhileABatchIsInFlightIntoTheNextBatch) {
    asio::io_context io;
    DoublingStore store;
    Batcher batcher(io.get_executor(), store.execute(io), 1000, 10000);
    const auto results = submit_concurrently(io, batcher, 100);
    for (int i = 0; i < 100; i++) EXPECT_EQ(results[static_cast<std::size_t>(i)], i * 2);
    // The first submission leaves alone; the 99 queued behind it travel together.
    ASSERT_EQ(store.batch_sizes.size(), 2u);
    EXPECT_EQ(store.batch_sizes[0], 1u);
    EXPECT_EQ(store.batch_sizes[1], 99u);
}

TEST(AutoBatcher, SplitsAtTheBatchLimitWithoutSplittingASubmission) {
    asio::io_context io;
    DoublingStore store;
    Batcher batcher(io.get_executor(), store.execute(io), 3, 10000);
    std::vector<std::vector<int>> outcomes(4);
    int finished = 0;
    for (int i = 0; i < 4; i++) {
        asio::co_spawn(io, batcher.submit({i * 10, i * 10 + 1}),
                       [&, i](std::exception_ptr, Result<std::vector<int>> result) {
                           outcomes[static_cast<std::size_t>(i)] = *result;
                           finished++;
                       });
    }
    while (finished < 4 && io.run_one() > 0) {
    }
    for (int i = 0; i < 4; i++) {
        EXPECT_EQ(outcomes[static_cast<std::size_t>(i)], (std::vector<int>{i * 20, i * 20 + 2}));
    }
    for (std::size_t size : store.batch_sizes) EXPECT_EQ(size, 2u);
}

TEST(AutoBatcher, AFailedBatchFailsEveryCallerInIt) {
    asio::io_context io;
    DoublingStore store;
    store.fail = true;
    Batcher batcher(io.get_executor(), store.execute(io), 1000, 10000);
    const auto results = submit_concurrently(io, batcher, 10);
    for (int result : results) EXPECT_EQ(result, -100);
}

TEST(AutoBatcher, RefusesSubmissionsBeyondTheQueueLimit) {
    asio::io_context io;
    DoublingStore store;
    Batcher batcher(io.get_executor(), store.execute(io), 2, 4);
    const auto results = submit_concurrently(io, batcher, 10);
    const auto refused = std::count(results.begin(), results.end(), -100);
    EXPECT_GT(refused, 0);
    EXPECT_LT(refused, 10);
}

TEST(AutoBatcher, AfterStopNewSubmissionsFailAndDrainWaitsForQueuedOnes) {
    asio::io_context io;
    DoublingStore store;
    Batcher batcher(io.get_executor(), store.execute(io), 1000, 10000);
    int finished = 0;
    for (int i = 0; i < 5; i++) {
        asio::co_spawn(io, batcher.submit_one(i),
                       [&](std::exception_ptr, Result<int> result) { finished += result.ok(); });
    }
    io.poll();  // Let the five submissions enqueue before the stop.
    batcher.stop();
    const bool refused = testing::run_async(io, [&]() -> asio::awaitable<bool> {
        auto late = co_await batcher.submit_one(99);
        co_await batcher.drain();
        co_return !late.ok() && late.fault() == Fault::shutting_down;
    });
    EXPECT_TRUE(refused);
    io.run();
    EXPECT_EQ(finished, 5);
    EXPECT_FALSE(batcher.in_flight());
}

// A store that answers a batch with fewer outcomes than items would hand callers each other's
// results: the batcher stops the process instead, naming both counts.
TEST(AutoBatcherDeathTest, ABatchAnsweredWithTheWrongNumberOfOutcomesStopsTheProcess) {
    asio::io_context io;
    const Batcher::Execute short_by_one =
        [](std::span<int> items) -> asio::awaitable<Result<std::vector<int>>> {
        std::vector<int> outcomes(items.size() - 1, 0);
        co_return outcomes;
    };
    Batcher batcher(io.get_executor(), short_by_one, 1000, 10000);
    EXPECT_DEATH(submit_concurrently(io, batcher, 1),
                 "assertion failed: .* \\(a batch of 1 items got 0 outcomes\\)");
}

}  // namespace
}  // namespace tigerfans

// The automatic batcher: submissions of one loop turn leave together, at most `in_flight_max`
// batches run at once (one by default), everything queued meanwhile goes out next, results map
// back to each caller in order whatever order batches complete in, and a fault reaches every
// caller of its batch and no other.
#include "tigerfans/core/auto_batcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <boost/asio/redirect_error.hpp>
#include <map>
#include <memory>
#include <optional>

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

TEST(AutoBatcher, SubmissionsMadeInTheSameTurnLeaveTogether) {
    // The batch starts a turn after the first submission woke the batcher: the other 99,
    // already on their way, join it.
    asio::io_context io;
    DoublingStore store;
    Batcher batcher(io.get_executor(), store.execute(io), 1000, 10000);
    const auto results = submit_concurrently(io, batcher, 100);
    for (int i = 0; i < 100; i++) EXPECT_EQ(results[static_cast<std::size_t>(i)], i * 2);
    EXPECT_EQ(store.batch_sizes, std::vector<std::size_t>{100});
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

// A store whose batches finish only when the test says so, in any order: it counts how many
// run at once and records each batch's items.
struct GatedStore {
    struct Gate {
        explicit Gate(asio::io_context& io) : timer(io) {
            timer.expires_at(asio::steady_timer::time_point::max());
        }
        asio::steady_timer timer;
        std::vector<int> items;
        bool fail = false;
    };

    std::vector<std::shared_ptr<Gate>> gates;  // One per batch, in the order batches started.
    std::size_t running = 0;
    std::size_t most_running = 0;

    Batcher::Execute execute(asio::io_context& io) {
        return [this, &io](std::span<int> items) -> asio::awaitable<Result<std::vector<int>>> {
            auto gate = std::make_shared<Gate>(io);
            gate->items.assign(items.begin(), items.end());
            gates.push_back(gate);
            running++;
            most_running = std::max(most_running, running);
            boost::system::error_code released;
            co_await gate->timer.async_wait(asio::redirect_error(asio::use_awaitable, released));
            running--;
            if (gate->fail) co_return Fault::unavailable;
            std::vector<int> doubled;
            for (int item : gate->items) doubled.push_back(item * 2);
            co_return doubled;
        };
    }

    void release(std::size_t batch, bool fail = false) {
        gates.at(batch)->fail = fail;
        gates.at(batch)->timer.cancel();
    }
};

// Each submission's outcome by its first item; absent while it waits.
using Answers = std::map<int, Result<std::vector<int>>>;

void spawn_submission(asio::io_context& io, Batcher& batcher, std::vector<int> items,
                      Answers& answers) {
    const int key = items.front();
    asio::co_spawn(
        io,
        [&batcher, &answers, key, items = std::move(items)]() mutable -> asio::awaitable<void> {
            auto outcome = co_await batcher.submit(std::move(items));
            answers.emplace(key, std::move(outcome));
        },
        asio::detached);
}

// Runs everything ready (the store's gates stay shut) without blocking.
void settle(asio::io_context& io) {
    io.restart();
    io.poll();
}

// A batcher of up to `in_flight_max` batches (the default without one) over a GatedStore, and
// its submitters' answers.
struct GatedRig {
    explicit GatedRig(std::optional<std::size_t> in_flight_max, std::size_t batch_items_max = 1000)
        : owned(in_flight_max ? std::make_unique<Batcher>(io.get_executor(), store.execute(io),
                                                          batch_items_max, 10000, BatcherObserver{},
                                                          *in_flight_max)
                              : std::make_unique<Batcher>(io.get_executor(), store.execute(io),
                                                          batch_items_max, 10000)),
          batcher(*owned) {}

    asio::io_context io;
    GatedStore store;
    std::unique_ptr<Batcher> owned;
    Batcher& batcher;
    Answers answers;
};

// Every submission answered, at most `most_running` batches ran at once, none is left.
void expect_all_answered(const Batcher& batcher, const GatedStore& store, const Answers& answers,
                         std::size_t submissions, std::size_t most_running) {
    EXPECT_EQ(answers.size(), submissions);
    EXPECT_EQ(store.most_running, most_running);
    EXPECT_FALSE(batcher.in_flight());
}

// Submissions {1} and {2} each start a batch of their own, one turn apart; {3} and {4} follow
// in one turn, while two batches are in flight.
void start_two_batches_and_queue_two(asio::io_context& io, Batcher& batcher, Answers& answers) {
    spawn_submission(io, batcher, {1}, answers);
    settle(io);
    spawn_submission(io, batcher, {2}, answers);
    settle(io);
    spawn_submission(io, batcher, {3}, answers);
    spawn_submission(io, batcher, {4}, answers);
    settle(io);
}

TEST(AutoBatcher, PacksEverythingQueuedWhileABatchIsInFlightIntoTheNextBatch) {
    asio::io_context io;
    GatedStore store;
    Batcher batcher(io.get_executor(), store.execute(io), 1000, 10000);
    Answers answers;
    spawn_submission(io, batcher, {1}, answers);
    settle(io);
    for (int i = 2; i <= 100; i++) spawn_submission(io, batcher, {i}, answers);
    settle(io);
    store.release(0);
    settle(io);
    ASSERT_EQ(store.gates.size(), 2u);
    EXPECT_EQ(store.gates[1]->items.size(), 99u);
    store.release(1);
    settle(io);
    EXPECT_EQ(answers.size(), 100u);
}

TEST(AutoBatcher, WithTwoInFlightASecondBatchLeavesButNeverAThird) {
    GatedRig rig(2);
    start_two_batches_and_queue_two(rig.io, rig.batcher, rig.answers);
    EXPECT_EQ(rig.store.running, 2u);
    EXPECT_EQ(rig.batcher.batches_in_flight(), 2u);
    EXPECT_EQ(rig.batcher.queued_items(), 2u);
    rig.store.release(0);  // The next batch leaves as soon as one completes, with all that queued.
    settle(rig.io);
    EXPECT_EQ(rig.answers.size(), 1u);
    ASSERT_EQ(rig.store.gates.size(), 3u);
    EXPECT_EQ(rig.store.gates[2]->items, (std::vector<int>{3, 4}));
    EXPECT_EQ(rig.store.running, 2u);
    rig.store.release(1);
    rig.store.release(2);
    settle(rig.io);
    expect_all_answered(rig.batcher, rig.store, rig.answers, 4, 2);
}

TEST(AutoBatcher, AQueueLongerThanOneBatchStartsAnotherLane) {
    // Batches of at most two items: three submissions of two made at once fill two lanes and
    // the third waits for either.
    GatedRig rig(2, 2);
    for (int first : {1, 3, 5}) {
        spawn_submission(rig.io, rig.batcher, {first, first + 1}, rig.answers);
    }
    settle(rig.io);
    EXPECT_EQ(rig.store.running, 2u);
    EXPECT_EQ(rig.batcher.queued_items(), 2u);
    rig.store.release(1);
    settle(rig.io);
    ASSERT_EQ(rig.store.gates.size(), 3u);
    EXPECT_EQ(rig.store.gates[2]->items, (std::vector<int>{5, 6}));
    rig.store.release(0);
    rig.store.release(2);
    settle(rig.io);
    expect_all_answered(rig.batcher, rig.store, rig.answers, 3, 2);
}

TEST(AutoBatcher, ByDefaultOneBatchIsInFlight) {
    GatedRig rig(std::nullopt);
    spawn_submission(rig.io, rig.batcher, {1}, rig.answers);
    settle(rig.io);
    spawn_submission(rig.io, rig.batcher, {2}, rig.answers);
    settle(rig.io);
    EXPECT_EQ(rig.store.running, 1u);
    EXPECT_EQ(rig.batcher.queued_items(), 1u);
    rig.store.release(0);
    settle(rig.io);
    rig.store.release(1);
    settle(rig.io);
    expect_all_answered(rig.batcher, rig.store, rig.answers, 2, 1);
}

TEST(AutoBatcher, BatchesCompletingOutOfOrderHandEachSubmitterItsOwnOutcomes) {
    // Three batches of one submission, then a fourth of three submissions that queued behind
    // them; released in the order 3rd, 4th, 1st, 2nd: every submitter still gets its own items
    // doubled, in its order.
    GatedRig rig(3);
    for (int first : {100, 200, 300}) {
        spawn_submission(rig.io, rig.batcher, {first, first + 1, first + 2}, rig.answers);
        settle(rig.io);
    }
    for (int first : {400, 410, 420}) {
        spawn_submission(rig.io, rig.batcher, {first, first + 1, first + 2}, rig.answers);
    }
    settle(rig.io);
    EXPECT_EQ(rig.store.running, 3u);
    for (std::size_t batch : {2u, 3u, 0u, 1u}) {
        ASSERT_LT(batch, rig.store.gates.size());
        rig.store.release(batch);
        settle(rig.io);
    }
    EXPECT_EQ(rig.store.gates[3]->items.size(), 9u);
    ASSERT_EQ(rig.answers.size(), 6u);
    for (const auto& [first, outcome] : rig.answers) {
        ASSERT_TRUE(outcome.ok()) << first;
        EXPECT_EQ(*outcome, (std::vector<int>{first * 2, first * 2 + 2, first * 2 + 4})) << first;
    }
}

TEST(AutoBatcher, AFaultInOneBatchFailsOnlyItsOwnSubmitters) {
    // The first batch fails; the second, in flight beside it, and the third, which queued
    // behind both, succeed.
    GatedRig rig(2);
    start_two_batches_and_queue_two(rig.io, rig.batcher, rig.answers);
    rig.store.release(0, true);
    settle(rig.io);
    rig.store.release(1);
    rig.store.release(2);
    settle(rig.io);
    ASSERT_EQ(rig.answers.size(), 4u);
    ASSERT_FALSE(rig.answers.at(1).ok());
    EXPECT_EQ(rig.answers.at(1).fault(), Fault::unavailable);
    EXPECT_EQ(*rig.answers.at(2), std::vector<int>{4});
    EXPECT_EQ(*rig.answers.at(3), std::vector<int>{6});
    EXPECT_EQ(*rig.answers.at(4), std::vector<int>{8});
}

TEST(AutoBatcher, DrainWaitsForEveryBatchInFlightAndEverythingQueued) {
    // Three in flight and two queued at stop: drain completes only after the last of them.
    GatedRig rig(3);
    for (int i = 1; i <= 3; i++) {
        spawn_submission(rig.io, rig.batcher, {i}, rig.answers);
        settle(rig.io);
    }
    spawn_submission(rig.io, rig.batcher, {4}, rig.answers);
    spawn_submission(rig.io, rig.batcher, {5}, rig.answers);
    settle(rig.io);
    rig.batcher.stop();
    spawn_submission(rig.io, rig.batcher, {99}, rig.answers);
    bool drained = false;
    asio::co_spawn(
        rig.io,
        [&]() -> asio::awaitable<void> {
            co_await rig.batcher.drain();
            drained = true;
        },
        asio::detached);
    settle(rig.io);
    ASSERT_EQ(rig.answers.count(99), 1u);
    EXPECT_EQ(rig.answers.at(99).fault(), Fault::shutting_down);
    for (std::size_t batch = 0; batch < 4; batch++) {
        EXPECT_FALSE(drained) << "before batch " << batch;
        ASSERT_LT(batch, rig.store.gates.size());
        rig.store.release(batch);
        settle(rig.io);
    }
    EXPECT_TRUE(drained);
    expect_all_answered(rig.batcher, rig.store, rig.answers, 6, 3);
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

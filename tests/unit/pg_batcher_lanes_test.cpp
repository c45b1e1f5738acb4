// Batcher lanes: a submission joins an idle lane first, else the least queued one; with two
// lanes two batches are in flight at once, every caller gets its own outcome, and stopping
// drains every lane.
#include "postgres/batcher_lanes.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include "support/run_async.hpp"

namespace tigerfans::postgres {
namespace {

using Lanes = BatcherLanes<int, int>;

TEST(ChooseLane, TheFirstIdleLaneWins) {
    const std::vector<LaneLoad> lanes = {{true, 0}, {false, 0}, {false, 0}};
    EXPECT_EQ(choose_lane(lanes), 1u);
    const std::vector<LaneLoad> one = {{true, 7}};
    EXPECT_EQ(choose_lane(one), 0u);
}

TEST(ChooseLane, WhenAllAreBusyTheFirstOfTheLeastQueuedWins) {
    const std::vector<LaneLoad> lanes = {{true, 5}, {true, 2}, {true, 2}, {true, 9}};
    EXPECT_EQ(choose_lane(lanes), 1u);
    const std::vector<LaneLoad> even = {{true, 3}, {true, 3}};
    EXPECT_EQ(choose_lane(even), 0u);
}

// Each batch waits at a gate the test opens, then answers every item negated.
struct GatedStore {
    explicit GatedStore(asio::io_context& io) : gate(io) {
        gate.expires_at(asio::steady_timer::time_point::max());
    }

    Lanes::Execute execute(int lane) {
        return [this, lane](std::span<int> items) -> asio::awaitable<Result<std::vector<int>>> {
            batches.push_back({lane, items.size()});
            in_flight++;
            in_flight_max = std::max(in_flight_max, in_flight);
            boost::system::error_code ignored;
            co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            in_flight--;
            std::vector<int> negated;
            for (int item : items) negated.push_back(-item);
            co_return negated;
        };
    }

    asio::steady_timer gate;
    std::vector<std::pair<int, std::size_t>> batches;  // (lane, items) in the order they began.
    int in_flight = 0;
    int in_flight_max = 0;
};

class BatcherLanesTest : public ::testing::Test {
protected:
    // Two lanes of at most `batch_items_max` items each.
    std::unique_ptr<Lanes> two_lanes(std::size_t batch_items_max) {
        std::vector<Lanes::Execute> executes = {store_.execute(0), store_.execute(1)};
        return std::make_unique<Lanes>(io_.get_executor(), std::move(executes), batch_items_max,
                                       10'000);
    }

    // Starts one submission per item; each answer lands in results_ at its item's index.
    void submit(Lanes& lanes, int first, int count) {
        for (int i = first; i < first + count; i++) {
            asio::co_spawn(io_, lanes.submit_one(i), [this, i](std::exception_ptr, Result<int> r) {
                results_[static_cast<std::size_t>(i)] = r ? *r : 1'000;
            });
        }
        io_.poll();
    }

    void open_gate_and_finish() {
        store_.gate.cancel();
        // Batches begun after the cancel find the gate open (it expired at cancel time).
        store_.gate.expires_at(asio::steady_timer::time_point::min());
        io_.restart();
        io_.run();
    }

    asio::io_context io_;
    GatedStore store_{io_};
    std::vector<int> results_ = std::vector<int>(100, 0);
};

TEST_F(BatcherLanesTest, TwoLanesKeepTwoBatchesInFlightAndAnswerEachCaller) {
    auto lanes = two_lanes(1000);
    submit(*lanes, 1, 2);
    ASSERT_EQ(store_.batches.size(), 2u);  // One submission per idle lane, both in flight.
    EXPECT_EQ(store_.in_flight, 2);
    submit(*lanes, 3, 10);  // Both busy: the ten queue, split between the lanes.
    EXPECT_EQ(store_.batches.size(), 2u);
    open_gate_and_finish();
    for (int i = 1; i <= 12; i++) EXPECT_EQ(results_[static_cast<std::size_t>(i)], -i) << i;
    EXPECT_EQ(store_.in_flight_max, 2);
    // The first two alone, then the queued ten in one batch per lane, five each.
    const std::vector<std::pair<int, std::size_t>> expected = {{0, 1}, {1, 1}, {0, 5}, {1, 5}};
    EXPECT_EQ(store_.batches, expected);
}

// One lane is one AutoBatcher: one batch in flight, the rest queued behind it.
TEST_F(BatcherLanesTest, OneLaneKeepsOneBatchInFlight) {
    std::vector<Lanes::Execute> executes = {store_.execute(0)};
    Lanes lanes(io_.get_executor(), std::move(executes), 1000, 10'000);
    submit(lanes, 1, 6);
    EXPECT_EQ(store_.batches.size(), 1u);
    open_gate_and_finish();
    EXPECT_EQ(store_.in_flight_max, 1);
    const std::vector<std::pair<int, std::size_t>> expected = {{0, 1}, {0, 5}};
    EXPECT_EQ(store_.batches, expected);
}

TEST_F(BatcherLanesTest, StopRefusesNewSubmissionsAndDrainWaitsForEveryLane) {
    auto lanes = two_lanes(1000);
    submit(*lanes, 1, 6);
    lanes->stop();
    submit(*lanes, 7, 1);
    EXPECT_EQ(results_[7], 1'000);  // Refused at once with shutting_down.
    bool drained = false;
    asio::co_spawn(io_, lanes->drain(), [&](std::exception_ptr) { drained = true; });
    io_.poll();
    EXPECT_FALSE(drained);
    open_gate_and_finish();
    EXPECT_TRUE(drained);
    for (int i = 1; i <= 6; i++) EXPECT_EQ(results_[static_cast<std::size_t>(i)], -i) << i;
}

// The queue limit covers all lanes together: each lane takes its share.
TEST_F(BatcherLanesTest, TheQueueLimitIsSharedBetweenTheLanes) {
    std::vector<Lanes::Execute> executes = {store_.execute(0), store_.execute(1)};
    Lanes lanes(io_.get_executor(), std::move(executes), 2, 8);
    submit(lanes, 1, 12);  // Two go out; four queue per lane; two find both lanes full.
    open_gate_and_finish();
    const auto refused = std::count(results_.begin() + 1, results_.begin() + 13, 1'000);
    EXPECT_EQ(refused, 2);
}

}  // namespace
}  // namespace tigerfans::postgres

// The waiting room's admission step over an in-memory queue: nothing is admitted before the
// sale opens, admission then follows the pacer, a pause stops it without a burst after, a rate
// change applies at once, a failing store admits nothing and loses nobody, and the measured
// rate is what was admitted over the window.
#include "tigerfans/flows/waiting_room.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "flow_fakes.hpp"
#include "support/run_async.hpp"

namespace tigerfans::flows {
namespace {

using testing_fakes::CallPlan;
using testing_fakes::FakeLedger;

constexpr std::int64_t second_us = 1'000'000;
constexpr std::int64_t opens_us = 1'800'000'000 * second_us;

// The queue in memory: entries in key order, admissions numbered in turn.
class MemoryQueue final : public queue::QueueStore {
public:
    bool failing = false;
    std::vector<queue::Place> waiting;
    std::map<std::string, queue::EntryStatus> admitted;

    std::string_view backend_name() const override { return "memory"; }
    asio::awaitable<Status> start() override { co_return Status{}; }
    asio::awaitable<Result<std::uint64_t>> join(std::string_view entry_id, queue::Phase phase,
                                                std::uint64_t draw_key, std::int64_t) override {
        const std::uint64_t key =
            phase == queue::Phase::sale ? queue::arrival_key(++sequence_) : draw_key;
        waiting.push_back({key, std::string(entry_id)});
        std::sort(waiting.begin(), waiting.end(), queue::queued_before);
        co_return key;
    }
    asio::awaitable<Result<std::optional<queue::EntryStatus>>> status(
        std::string_view entry_id) override {
        if (auto found = admitted.find(std::string(entry_id)); found != admitted.end()) {
            co_return std::optional(found->second);
        }
        co_return std::optional<queue::EntryStatus>{};
    }
    asio::awaitable<Result<std::vector<queue::AdmittedEntry>>> admit(std::uint64_t count,
                                                                     std::int64_t now_us,
                                                                     std::uint32_t) override {
        if (failing) co_return Fault::unavailable;
        std::vector<queue::AdmittedEntry> taken;
        while (taken.size() < count && !waiting.empty()) {
            queue::EntryStatus entry;
            entry.state = queue::EntryState::admitted;
            entry.admitted_seq = ++admissions_;
            entry.admitted_at_us = now_us;
            admitted[waiting.front().entry_id] = entry;
            taken.push_back({waiting.front().entry_id, entry.admitted_seq});
            waiting.erase(waiting.begin());
        }
        co_return taken;
    }
    asio::awaitable<Result<bool>> use_ticket(std::string_view, std::uint32_t) override {
        co_return false;
    }
    asio::awaitable<Status> return_ticket(std::string_view) override { co_return Status{}; }
    asio::awaitable<Result<queue::QueueCounts>> counts() override {
        co_return queue::QueueCounts{waiting.size(), admissions_, sequence_};
    }
    asio::awaitable<bool> healthy() override { co_return true; }
    asio::awaitable<void> stop() override { co_return; }

private:
    std::uint64_t sequence_ = 0;
    std::uint64_t admissions_ = 0;
};

class WaitingRoomStepTest : public ::testing::Test {
protected:
    static config::Config sale_config() {
        config::Config config;
        config.waiting_room = true;
        config.sale_opens_at_us = opens_us;
        config.prequeue_minutes = 30;
        config.admit_per_second = 10;
        config.admission_ttl_s = 600;
        config.admission_tickets = 4;
        config.session_secret = "unit-secret";
        return config;
    }

    WaitingRoomStepTest() {
        for (int i = 0; i < 1'000; ++i) {
            const std::string id = queue::new_entry_id();  // Outlives the lazy coroutine.
            const Result<std::uint64_t> joined = testing::run_async(
                io, [&] { return store.join(id, queue::Phase::sale, 0, opens_us); });
            EXPECT_TRUE(joined.ok());
        }
    }

    // Steps every 50 ms from `from_us` to `to_us`; answers the admissions made.
    std::uint64_t run(std::int64_t from_us, std::int64_t to_us) {
        const std::size_t before = store.admitted.size();
        for (std::int64_t t = from_us; t <= to_us; t += 50'000) {
            testing::run_async(io, [&]() -> asio::awaitable<bool> {
                co_await room.step(t);
                co_return true;
            });
        }
        return store.admitted.size() - before;
    }

    asio::io_context io;
    config::Config config = sale_config();
    CallPlan calls;
    FakeLedger ledger{calls};
    MemoryQueue store;
    WaitingRoom room{io.get_executor(), config, store, ledger, opens_us - 600 * second_us};
};

TEST_F(WaitingRoomStepTest, AdmitsNothingBeforeTheSaleOpensThenFollowsTheRate) {
    EXPECT_EQ(run(opens_us - 60 * second_us, opens_us - 1), 0u);
    EXPECT_EQ(run(opens_us, opens_us + 10 * second_us), 100u);  // 10 s at 10 a second.
    EXPECT_EQ(room.state().admitted, 100u);
    EXPECT_NEAR(room.measured_rate(), 10.0, 0.5);
}

TEST_F(WaitingRoomStepTest, APauseAdmitsNothingAndNoBurstFollowsIt) {
    run(opens_us, opens_us + 2 * second_us);
    const std::uint64_t before = store.admitted.size();
    room.set_paused(true);
    EXPECT_TRUE(room.state().paused);
    EXPECT_EQ(run(opens_us + 2 * second_us + 50'000, opens_us + 12 * second_us), 0u);
    room.set_paused(false);
    EXPECT_EQ(run(opens_us + 12 * second_us + 50'000, opens_us + 13 * second_us), 10u);
    EXPECT_EQ(store.admitted.size(), before + 10);
}

TEST_F(WaitingRoomStepTest, ARateChangeAppliesAtOnce) {
    run(opens_us, opens_us + second_us);
    room.set_rate(100);
    EXPECT_EQ(room.state().per_second, 100u);
    EXPECT_EQ(run(opens_us + second_us + 50'000, opens_us + 3 * second_us), 200u);
}

TEST_F(WaitingRoomStepTest, AFailingStoreAdmitsNobodyAndLosesNobody) {
    store.failing = true;
    EXPECT_EQ(run(opens_us, opens_us + 5 * second_us), 0u);
    EXPECT_EQ(store.waiting.size(), 1'000u);
    store.failing = false;
    // The admissions due while it failed are not made up: the rate holds from now on.
    EXPECT_EQ(run(opens_us + 5 * second_us + 50'000, opens_us + 6 * second_us), 10u);
}

// With a holds ceiling the step reads the ledger beside it, never waiting for it: until a
// reading is in, and while the last one failed, admission waits.
TEST_F(WaitingRoomStepTest, TheHoldsCeilingAdmitsOnlyOnAFreshReadingOfTheLedger) {
    config.admit_holds_ceiling = 1'000;
    WaitingRoom ceiling{io.get_executor(), config, store, ledger, opens_us};
    auto run_ceiling = [&](std::int64_t from_us, std::int64_t to_us) {
        const std::size_t before = store.admitted.size();
        for (std::int64_t t = from_us; t <= to_us; t += 50'000) {
            testing::run_async(io, [&]() -> asio::awaitable<bool> {
                co_await ceiling.step(t);
                co_return true;
            });
            io.restart();
            io.poll();  // The ledger read started beside the step.
        }
        return store.admitted.size() - before;
    };
    // The first step has no reading yet (and nothing accrued by then); each later one has the
    // reading the step before it started.
    EXPECT_EQ(run_ceiling(opens_us, opens_us + second_us), 10u);
    calls.fail_next("ledger.inventory");
    run_ceiling(opens_us + second_us + 50'000, opens_us + second_us + 50'000);  // Its read fails.
    EXPECT_EQ(run_ceiling(opens_us + second_us + 100'000, opens_us + second_us + 100'000), 0u);
    // 0.85 s at 10 a second and the half accrued at 1.05 s: nine.
    EXPECT_EQ(run_ceiling(opens_us + second_us + 150'000, opens_us + 2 * second_us), 9u);
}

TEST_F(WaitingRoomStepTest, AdmissionNumbersFollowTheQueueOrder) {
    const std::string first = store.waiting.front().entry_id;
    run(opens_us, opens_us + second_us);
    ASSERT_TRUE(store.admitted.contains(first));
    EXPECT_EQ(store.admitted.at(first).admitted_seq, 1u);
}

}  // namespace
}  // namespace tigerfans::flows

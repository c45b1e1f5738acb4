// The waiting room's admission step over an in-memory queue: nothing is admitted before the
// sale opens, admission then follows the pacer, a pause stops it without a burst after, a rate
// change applies at once, a failing store admits nothing and loses nobody, and the measured
// rate is what was admitted over the window.
#include "tigerfans/flows/waiting_room.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "flow_fakes.hpp"
#include "support/run_async.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::flows {
namespace {

using testing_fakes::CallPlan;
using testing_fakes::FakeLedger;

constexpr std::int64_t second_us = 1'000'000;
constexpr std::int64_t opens_us = 1'800'000'000 * second_us;

// Sixteen seats in one row.
constexpr const char* hall_venue = R"({
  "id": "hall", "name": "Hall", "stage": {"x": 0, "y": 0},
  "categories": [{"id": "std", "name": "Standard", "price_cents": 100}],
  "sections": [{"id": "main", "name": "Main", "rows": [
    {"label": "A", "category": "std", "seats": 16, "x": 0, "y": 10, "dx": 10, "dy": 0}]}]
})";

seating::Venue hall() {
    auto parsed = seating::parse_venue(hall_venue);
    if (!std::holds_alternative<seating::Venue>(parsed)) {
        ADD_FAILURE() << "the hall's venue is refused";
        return {};
    }
    return std::get<seating::Venue>(std::move(parsed));
}

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
    asio::awaitable<Result<queue::AdmissionLease>> lead(std::string_view owner, std::int64_t now_us,
                                                        std::int64_t until_us) override {
        EXPECT_GT(until_us, now_us);  // As both real stores require.
        if (failing) co_return Fault::unavailable;
        queue::AdmissionLease lease;
        if (lease_owner.empty() || lease_owner == owner || lease_until_us <= now_us) {
            lease_owner = owner;
            lease_until_us = until_us;
            lease.leading = true;
        }
        lease.settings = settings;
        co_return lease;
    }
    asio::awaitable<Status> set_settings(queue::AdmissionSettings changed) override {
        if (failing) co_return Fault::unavailable;
        if (changed.paused) settings.paused = changed.paused;
        if (changed.per_second) settings.per_second = changed.per_second;
        co_return done();
    }
    asio::awaitable<bool> healthy() override { co_return true; }
    asio::awaitable<void> stop() override { co_return; }

    std::string lease_owner;
    std::int64_t lease_until_us = 0;
    queue::AdmissionSettings settings;

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

    // Steps `rooms` (each in turn, as processes on one store would) every 50 ms from `from_us`
    // to `to_us`; answers the admissions made.
    std::uint64_t run_rooms(const std::vector<WaitingRoom*>& rooms, std::int64_t from_us,
                            std::int64_t to_us) {
        const std::size_t before = store.admitted.size();
        for (std::int64_t t = from_us; t <= to_us; t += 50'000) {
            for (WaitingRoom* stepping : rooms) {
                testing::run_async(io, [&]() -> asio::awaitable<bool> {
                    co_await stepping->step(t);
                    co_return true;
                });
            }
        }
        return store.admitted.size() - before;
    }
    std::uint64_t run(std::int64_t from_us, std::int64_t to_us) {
        return run_rooms({&room}, from_us, to_us);
    }
    // Steps `stepping` every 50 ms from `from_us` to `to_us`, running after each step what it
    // started beside it (the readings of the holds); answers the admissions made.
    std::uint64_t run_polled(WaitingRoom& stepping, std::int64_t from_us, std::int64_t to_us) {
        const std::size_t before = store.admitted.size();
        for (std::int64_t t = from_us; t <= to_us; t += 50'000) {
            testing::run_async(io, [&]() -> asio::awaitable<bool> {
                co_await stepping.step(t);
                co_return true;
            });
            io.restart();
            io.poll();
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

// The queue's count is read once a second, and at once after the clock was set back: a count
// kept from the future would hold joins back (QUEUE_WAITING_MAX) for as long as the step.
TEST_F(WaitingRoomStepTest, TheWaitingCountIsReadAgainAfterTheClockWasSetBack) {
    const std::int64_t before_opening = opens_us - 60 * second_us;  // Nobody is admitted.
    run_rooms({&room}, before_opening, before_opening);
    EXPECT_EQ(room.state().waiting, 1'000u);
    for (int i = 0; i < 5; ++i) {
        const std::string id = queue::new_entry_id();
        ASSERT_TRUE(testing::run_async(io, [&] {
                        return store.join(id, queue::Phase::sale, 0, before_opening);
                    }).ok());
    }
    run_rooms({&room}, before_opening + 100'000, before_opening + 100'000);
    EXPECT_EQ(room.state().waiting, 1'000u);  // Not a second since the last reading.
    run_rooms({&room}, before_opening - 10 * second_us, before_opening - 10 * second_us);
    EXPECT_EQ(room.state().waiting, 1'005u);
}

// A fan's browser may carry two admission cookies (one left for another path): a valid one
// admits wherever it comes; with none valid, the first one's refusal is the answer.
TEST_F(WaitingRoomStepTest, AnyValidAdmissionCookieAdmits) {
    const std::int64_t now_s = opens_us / second_us;
    const std::string token =
        queue::issue_token(queue::admission_key(config.session_secret),
                           queue::admit(queue::new_entry_id(), now_s, 600, 4));
    const std::string name(admission_cookie);
    http::Request request;
    request.headers = {{"Cookie", name + "=forged; " + name + "=" + token}};
    EXPECT_TRUE(room.check_token(request, now_s).ok());
    request.headers = {{"Cookie", name + "=forged"}, {"Cookie", name + "=" + token}};
    EXPECT_TRUE(room.check_token(request, now_s).ok());
    request.headers = {{"Cookie", name + "=forged; " + name + "=" + token}};
    EXPECT_EQ(room.check_token(request, now_s + 601).refusal, queue::TokenRefusal::malformed);
    request.headers = {};
    EXPECT_EQ(room.check_token(request, now_s).refusal, queue::TokenRefusal::missing);
}

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

// With a venue, held seats count against the ceiling beside the classes' held tickets (none
// here): at the ceiling nothing is admitted, below it the rate holds.
TEST_F(WaitingRoomStepTest, HeldSeatsCountAgainstTheHoldsCeiling) {
    const seating::Venue venue = hall();
    std::uint32_t held_seats = 0;
    seating::SeatMap map(
        io.get_executor(), venue,
        [&]() -> asio::awaitable<Result<seating::SeatStates>> {
            seating::SeatStates states(venue.seat_count);
            for (seating::SeatId seat = 0; seat < held_seats; seat++) {
                states.set(seat, seating::SeatState::held);
            }
            co_return states;
        },
        [] { return std::int64_t{1'000'000}; }, seating::SeatMap::Settings{});
    config.admit_holds_ceiling = 3;
    auto admitted = [&](std::int64_t from_us) {
        WaitingRoom seated{io.get_executor(), config, store, ledger, from_us, &map};
        return run_polled(seated, from_us, from_us + second_us);
    };
    held_seats = 3;  // The map's first read, kept: its clock stands still.
    EXPECT_EQ(admitted(opens_us), 0u);
    config.admit_holds_ceiling = 1'000;
    EXPECT_EQ(admitted(opens_us + 10 * second_us), 10u);
}

// A reading is as old as the seat map's snapshot: a map its ledger has not answered for longer
// than a reading may be old (still served to fans, under its stale limit) holds admission back.
TEST_F(WaitingRoomStepTest, AnOldSeatMapHoldsAdmissionBack) {
    const seating::Venue venue = hall();
    bool ledger_answers = true;
    std::int64_t map_now_us = 1'000'000;
    seating::SeatMap map(
        io.get_executor(), venue,
        [&]() -> asio::awaitable<Result<seating::SeatStates>> {
            if (!ledger_answers) co_return Fault::unavailable;
            co_return seating::SeatStates(venue.seat_count);
        },
        [&] { return map_now_us; }, seating::SeatMap::Settings{5, 10'000});
    config.admit_holds_ceiling = 1'000;
    auto admitted = [&](std::int64_t from_us) {
        WaitingRoom seated{io.get_executor(), config, store, ledger, from_us, &map};
        return run_polled(seated, from_us, from_us + second_us);
    };
    EXPECT_EQ(admitted(opens_us), 10u);
    ledger_answers = false;
    map_now_us += 3 * second_us;  // The snapshot is 3 s old, and no read replaces it.
    EXPECT_EQ(admitted(opens_us + 10 * second_us), 0u);
}

// With a holds ceiling the step reads the ledger beside it, never waiting for it: until a
// reading is in, and while the last one failed, admission waits.
TEST_F(WaitingRoomStepTest, TheHoldsCeilingAdmitsOnlyOnAFreshReadingOfTheLedger) {
    config.admit_holds_ceiling = 1'000;
    WaitingRoom ceiling{io.get_executor(), config, store, ledger, opens_us};
    auto run_ceiling = [&](std::int64_t from_us, std::int64_t to_us) {
        return run_polled(ceiling, from_us, to_us);
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

// Several processes on one store: only the lease's holder admits, so the rate is the configured
// one, not a multiple; when the holder stops, another takes over once the lease has run out.
TEST_F(WaitingRoomStepTest, ProcessesSharingAStoreAdmitAtOneRateAndTakeOverFromADeadOne) {
    WaitingRoom other{io.get_executor(), config, store, ledger, opens_us - 600 * second_us};
    EXPECT_EQ(run_rooms({&room, &other}, opens_us, opens_us + 10 * second_us), 100u);
    const std::string holder = store.lease_owner;
    // The holder stops stepping (it died): nobody admits until its lease runs out, then the
    // other admits at the rate.
    const std::int64_t died_us = opens_us + 10 * second_us;
    const std::int64_t lease_end_us = died_us + limits::admission_lease_us;
    EXPECT_EQ(run_rooms({&other}, died_us + 50'000, lease_end_us - 50'000), 0u);
    EXPECT_EQ(run_rooms({&other}, lease_end_us, lease_end_us + 5 * second_us), 50u);
    EXPECT_NE(store.lease_owner, holder);
}

// Processes that stop hand admission over: one that goes on admits from its next step, long
// before the stopped holder's lease would have run out.
TEST_F(WaitingRoomStepTest, AProcessThatStopsHandsAdmissionOverAtOnce) {
    WaitingRoom other{io.get_executor(), config, store, ledger, opens_us - 600 * second_us};
    EXPECT_EQ(run_rooms({&room, &other}, opens_us, opens_us + 10 * second_us), 100u);
    const std::string holder = store.lease_owner;
    for (WaitingRoom* stopping : {&room, &other}) {
        testing::run_async(io, [&]() -> asio::awaitable<bool> {
            co_await stopping->stop(std::chrono::milliseconds(100));
            co_return true;
        });
    }
    WaitingRoom going_on{io.get_executor(), config, store, ledger, opens_us - 600 * second_us};
    const std::int64_t stopped_us = opens_us + 10 * second_us;
    static_assert(limits::admission_lease_us > second_us);
    EXPECT_GT(run_rooms({&going_on}, stopped_us + 50'000, stopped_us + second_us), 0u);
    EXPECT_NE(store.lease_owner, holder);
}

// A pause set on a process just before it stops (no step in between) still reaches the others.
TEST_F(WaitingRoomStepTest, APauseSetJustBeforeAStopReachesTheOtherProcesses) {
    WaitingRoom other{io.get_executor(), config, store, ledger, opens_us - 600 * second_us};
    run_rooms({&room, &other}, opens_us, opens_us + second_us);
    other.set_paused(true);
    testing::run_async(io, [&]() -> asio::awaitable<bool> {
        co_await other.stop(std::chrono::milliseconds(100));
        co_return true;
    });
    EXPECT_EQ(run_rooms({&room}, opens_us + second_us + 50'000, opens_us + 5 * second_us), 0u);
    EXPECT_TRUE(room.state().paused);
}

// An operator's pause or rate, set on a process that does not admit, reaches the one that does
// through the store; and a restarted process takes the stored settings over its configuration.
TEST_F(WaitingRoomStepTest, APauseOrRateSetOnAnyProcessReachesTheOneThatAdmits) {
    WaitingRoom other{io.get_executor(), config, store, ledger, opens_us - 600 * second_us};
    run_rooms({&room, &other}, opens_us, opens_us + second_us);
    other.set_paused(true);
    EXPECT_EQ(run_rooms({&room, &other}, opens_us + second_us + 50'000, opens_us + 5 * second_us),
              0u);
    EXPECT_TRUE(room.state().paused);
    other.set_rate(40);
    other.set_paused(false);
    // The first step stores the settings, the holder's next step applies them.
    EXPECT_NEAR(static_cast<double>(run_rooms({&room, &other}, opens_us + 5 * second_us + 50'000,
                                              opens_us + 7 * second_us)),
                80.0, 2.0);
    EXPECT_FALSE(room.state().paused);
    EXPECT_EQ(room.state().per_second, 40u);
    // A pause on one process and a rate change on another: neither undoes the other.
    room.set_paused(true);
    other.set_rate(60);
    run_rooms({&room, &other}, opens_us + 7 * second_us + 50'000,
              opens_us + 7 * second_us + 50'000);
    EXPECT_EQ(
        run_rooms({&room, &other}, opens_us + 7 * second_us + 100'000, opens_us + 8 * second_us),
        0u);
    EXPECT_TRUE(room.state().paused && other.state().paused);
    EXPECT_EQ(room.state().per_second, 60u);
    WaitingRoom restarted{io.get_executor(), config, store, ledger, opens_us};
    run_rooms({&restarted}, opens_us + 8 * second_us + 50'000, opens_us + 8 * second_us + 50'000);
    EXPECT_EQ(restarted.state().per_second, 60u);
    EXPECT_TRUE(restarted.state().paused);
}

TEST_F(WaitingRoomStepTest, AdmissionNumbersFollowTheQueueOrder) {
    const std::string first = store.waiting.front().entry_id;
    run(opens_us, opens_us + second_us);
    ASSERT_TRUE(store.admitted.contains(first));
    EXPECT_EQ(store.admitted.at(first).admitted_seq, 1u);
}

}  // namespace
}  // namespace tigerfans::flows

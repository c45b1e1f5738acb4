// The seat ledgers against real stores, each test on both backends: PostgreSQL (levels 1 and 2)
// and a TigerBeetle 0.17.8 replica (level 3; skipped, saying so, without TIGERBEETLE_BIN). A hold
// takes all its seats or none and names the seats that were gone; posting sells, voiding frees,
// a timed-out hold frees its seats; a restart keeps every seat as it was; every read sees what
// any process changed since the one before (on TigerBeetle while looking up only those seats);
// and many concurrent holds on few seats never hold a seat twice. The reconciler reads every
// hold back and writes the seat orders a crash lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "accounting/postgres/postgres_ledger.hpp"
#include "accounting/tigerbeetle/tigerbeetle_ledger.hpp"
#include "orders/postgres_order_store.hpp"
#include "pg_test_helpers.hpp"
#include "support/tigerbeetle_server.hpp"
#include "tigerfans/accounting/seat_ledger.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/flows/reconcile.hpp"
#include "tigerfans/seating/venue.hpp"

#ifndef TIGERFANS_SOURCE_DIR
#define TIGERFANS_SOURCE_DIR "."
#endif

namespace tigerfans::accounting {
namespace {

using asio::awaitable;
using seating::SeatState;

constexpr std::uint32_t long_timeout_s = 300;

class SeatLedgerTest : public testing::PgTest, public ::testing::WithParamInterface<std::string> {
protected:
    void SetUp() override {
        if (tigerbeetle() && testing::tigerbeetle_binary().empty()) {
            testing::note_skipped_without_tigerbeetle();
            GTEST_SKIP() << "skipped: no TigerBeetle server binary (set TIGERBEETLE_BIN to a "
                            "tigerbeetle 0.17.8 executable to run it)";
        }
        if (tigerbeetle()) {
            // Requests of 32 KiB (253 transfers): the hall's 502 seats take more than one, and
            // the ledger learns the limit as it sets them up, reads and holds them.
            server_ = std::make_unique<testing::TigerBeetleServer>(
                testing::tigerbeetle_binary(), std::vector<std::string>{"--limit-request=32KiB"});
        }
        auto loaded = seating::load_venue(TIGERFANS_SOURCE_DIR "/web/venues/hall.json");
        ASSERT_TRUE(std::holds_alternative<seating::Venue>(loaded));
        venue_ = std::make_unique<seating::Venue>(std::get<seating::Venue>(std::move(loaded)));
    }

    void TearDown() override {
        for (auto& ledger : ledgers_) {
            run([&]() -> awaitable<bool> {
                co_await ledger->stop();
                co_return true;
            });
        }
    }

    bool tigerbeetle() const { return GetParam() == "tigerbeetle"; }

    // A started ledger with the hall's seats; several may share the test's stores, as server
    // processes would.
    SeatLedger& open_seats(const seating::Venue* venue = nullptr) {
        if (venue == nullptr) venue = venue_.get();
        const Capacities capacities{10, 10, 10};
        if (tigerbeetle()) {
            TigerBeetleOptions options;
            options.client_library_path = testing::tb_client_library_path();
            options.addresses = server_->address();
            options.capacities = capacities;
            options.venue = venue;
            ledgers_.push_back(make_tigerbeetle_ledger(io_.get_executor(), options, registry_));
        } else {
            ledgers_.push_back(make_postgres_ledger(io_.get_executor(), database_url_, capacities,
                                                    registry_, venue));
        }
        Ledger& ledger = *ledgers_.back();
        const Status started = run([&] { return ledger.start(); });
        EXPECT_TRUE(started.ok());
        SeatLedger* seats = ledger.seats();
        if (seats == nullptr) throw std::runtime_error("the ledger has no seats");
        return *seats;
    }

    SeatHoldRequest hold_of(std::vector<SeatId> seats, std::uint32_t timeout_s = long_timeout_s) {
        SeatHoldRequest request;
        request.seats = std::move(seats);
        for (std::size_t i = 0; i < request.seats.size(); i++)
            request.hold_ids.push_back(ids_.next());
        request.timeout_s = timeout_s;
        request.order_id = ids_.next();
        return request;
    }

    static SeatHolds holds_of(const SeatHoldRequest& request) {
        return SeatHolds{request.seats, request.hold_ids};
    }

    seating::SeatStates states(SeatLedger& seats) {
        auto read = run([&] { return seats.seat_states(); });
        if (!read) throw std::runtime_error("the seat states could not be read");
        return *read;
    }

    // How many seat accounts one read of `seats` looked up (TigerBeetle: each read's lookups go
    // to the shared registry, and nothing else looks seats up meanwhile in these tests).
    double ids_looked_up_by_a_read(SeatLedger& seats) {
        const metrics::Histogram* looked_up =
            registry_.find_histogram("tigerfans_tb_batch_events", "operation=\"lookup_accounts\"");
        if (looked_up == nullptr) throw std::runtime_error("no lookup_accounts metrics");
        const double before = looked_up->sum();
        states(seats);
        return looked_up->sum() - before;
    }

    static constexpr const char* only_tigerbeetle_reads_by_seat =
        "TigerBeetle only: PostgreSQL reads the seat states in one query";

    SeatHoldResult hold(SeatLedger& seats, const SeatHoldRequest& request) {
        auto result = run([&] { return seats.hold_seats(request); });
        if (!result) throw std::runtime_error("the hold failed as a whole");
        return *result;
    }

    std::vector<Resolution> resolve(SeatLedger& seats, const SeatHoldRequest& request,
                                    bool posting) {
        auto result = run([&] {
            return posting ? seats.post_seats(holds_of(request))
                           : seats.void_seats(holds_of(request));
        });
        if (!result) throw std::runtime_error("the resolution failed as a whole");
        return *result;
    }

    std::unique_ptr<testing::TigerBeetleServer> server_;
    std::unique_ptr<seating::Venue> venue_;
    std::unique_ptr<seating::Venue> changed_venue_;  // Outlives the ledgers that name it.
    std::vector<std::unique_ptr<Ledger>> ledgers_;
    IdGenerator ids_;
};

TEST_P(SeatLedgerTest, EverySeatStartsFreeAndARestartKeepsWhatWasHeldAndSold) {
    SeatLedger& seats = open_seats();
    EXPECT_EQ(states(seats).count(SeatState::free), venue_->seat_count);
    const SeatHoldRequest sold = hold_of({3, 4});
    ASSERT_TRUE(hold(seats, sold).held);
    EXPECT_EQ(resolve(seats, sold, true), (std::vector{Resolution::done, Resolution::done}));
    ASSERT_TRUE(hold(seats, hold_of({10})).held);

    SeatLedger& again = open_seats();  // Another process, or the same one restarted.
    const seating::SeatStates after = states(again);
    EXPECT_EQ(after.get(3), SeatState::sold);
    EXPECT_EQ(after.get(4), SeatState::sold);
    EXPECT_EQ(after.get(10), SeatState::held);
    EXPECT_EQ(after.count(SeatState::free), venue_->seat_count - 3);
}

TEST_P(SeatLedgerTest, AHoldTakesAllItsSeatsOrNoneAndNamesTheGoneOnes) {
    SeatLedger& seats = open_seats();
    ASSERT_TRUE(hold(seats, hold_of({20, 21})).held);
    const SeatHoldResult lost = hold(seats, hold_of({19, 21, 22, 40}));
    EXPECT_FALSE(lost.held);
    EXPECT_EQ(lost.gone, (std::vector<SeatId>{21}));
    const seating::SeatStates now = states(seats);
    for (SeatId free_seat : {19u, 22u, 40u}) EXPECT_EQ(now.get(free_seat), SeatState::free);
    EXPECT_EQ(now.count(SeatState::held), 2u);
    EXPECT_TRUE(hold(seats, hold_of({19, 22, 40})).held);
}

TEST_P(SeatLedgerTest, ARetriedHoldIsTheSameHold) {
    SeatLedger& seats = open_seats();
    const SeatHoldRequest request = hold_of({7, 8});
    ASSERT_TRUE(hold(seats, request).held);
    EXPECT_TRUE(hold(seats, request).held);
    EXPECT_EQ(states(seats).count(SeatState::held), 2u);
}

TEST_P(SeatLedgerTest, PostingSellsVoidingFreesAndEachAnswersARepeatAlike) {
    SeatLedger& seats = open_seats();
    const SeatHoldRequest paid = hold_of({1, 2});
    const SeatHoldRequest dropped = hold_of({5});
    ASSERT_TRUE(hold(seats, paid).held);
    ASSERT_TRUE(hold(seats, dropped).held);
    const std::vector<Resolution> done{Resolution::done, Resolution::done};
    EXPECT_EQ(resolve(seats, paid, true), done);
    EXPECT_EQ(resolve(seats, paid, true), done);
    EXPECT_EQ(resolve(seats, paid, false),
              (std::vector{Resolution::conflict, Resolution::conflict}));
    EXPECT_EQ(resolve(seats, dropped, false), std::vector{Resolution::done});
    EXPECT_EQ(resolve(seats, dropped, false), std::vector{Resolution::done});
    EXPECT_EQ(resolve(seats, dropped, true), std::vector{Resolution::conflict});
    EXPECT_EQ(resolve(seats, hold_of({9}), true), std::vector{Resolution::not_found});
    const seating::SeatStates now = states(seats);
    EXPECT_EQ(now.get(1), SeatState::sold);
    EXPECT_EQ(now.get(2), SeatState::sold);
    EXPECT_EQ(now.get(5), SeatState::free);
    EXPECT_TRUE(hold(seats, hold_of({5})).held);
    EXPECT_FALSE(hold(seats, hold_of({2})).held);
}

TEST_P(SeatLedgerTest, AHoldThatTimesOutFreesItsSeatsAndCannotBePostedOrVoided) {
    SeatLedger& seats = open_seats();
    const SeatHoldRequest brief = hold_of({30, 31}, 1);
    const SeatHoldRequest brief_too = hold_of({33}, 1);
    ASSERT_TRUE(hold(seats, brief).held);
    ASSERT_TRUE(hold(seats, brief_too).held);
    EXPECT_TRUE(testing::wait_until([&] { return states(seats).count(SeatState::held) == 0; },
                                    std::chrono::seconds(10)));
    EXPECT_EQ(resolve(seats, brief, true), (std::vector{Resolution::expired, Resolution::expired}));
    EXPECT_EQ(resolve(seats, brief_too, false), std::vector{Resolution::expired});
    EXPECT_TRUE(hold(seats, hold_of({31, 33})).held);
}

TEST_P(SeatLedgerTest, APostNamingAnotherSeatFindsNoHold) {
    SeatLedger& seats = open_seats();
    const SeatHoldRequest request = hold_of({50});
    ASSERT_TRUE(hold(seats, request).held);
    SeatHoldRequest elsewhere = request;
    elsewhere.seats = {51};
    EXPECT_EQ(resolve(seats, elsewhere, true), std::vector{Resolution::not_found});
    EXPECT_EQ(states(seats).get(50), SeatState::held);
    EXPECT_EQ(states(seats).get(51), SeatState::free);
}

// A session from before the venue file changed (its seats' digest with it) names a hold of the
// old venue's seats: none of the new venue's, on either ledger. Its payment then finds no hold,
// as the seat settle path expects, instead of failing on every delivery.
TEST_P(SeatLedgerTest, AHoldOfTheVenueBeforeItsFileChangedIsNoneOfTheNewOnes) {
    SeatLedger& before = open_seats();
    const SeatHoldRequest request = hold_of({50});
    ASSERT_TRUE(hold(before, request).held);
    changed_venue_ = std::make_unique<seating::Venue>(*venue_);
    std::string& digest = changed_venue_->seat_digest;
    digest[15] = digest[15] == '0' ? '1' : '0';  // Within the part both ledgers key seats by.
    SeatLedger& after = open_seats(changed_venue_.get());
    EXPECT_EQ(resolve(after, request, true), std::vector{Resolution::not_found});
    EXPECT_EQ(resolve(after, request, false), std::vector{Resolution::not_found});
    EXPECT_EQ(states(after).get(50), SeatState::free);
    EXPECT_EQ(states(before).get(50), SeatState::held);
}

// A process reading the map again sees what every process did since its last read: holds,
// sales and voids alike, whether or not it saw the seats held before.
TEST_P(SeatLedgerTest, EveryReadSeesWhatAnyProcessChangedSinceTheLast) {
    SeatLedger& reader = open_seats();
    SeatLedger& other = open_seats();  // Another process of the same sale.
    EXPECT_EQ(states(reader).count(SeatState::free), venue_->seat_count);

    const SeatHoldRequest kept = hold_of({60, 61});
    const SeatHoldRequest sold_at_once = hold_of({62});
    const SeatHoldRequest freed_at_once = hold_of({63});
    ASSERT_TRUE(hold(other, kept).held);
    ASSERT_TRUE(hold(other, sold_at_once).held);
    ASSERT_TRUE(hold(other, freed_at_once).held);
    EXPECT_EQ(resolve(other, sold_at_once, true), std::vector{Resolution::done});
    EXPECT_EQ(resolve(other, freed_at_once, false), std::vector{Resolution::done});
    seating::SeatStates now = states(reader);
    EXPECT_EQ(now.get(60), SeatState::held);
    EXPECT_EQ(now.get(61), SeatState::held);
    EXPECT_EQ(now.get(62), SeatState::sold);
    EXPECT_EQ(now.get(63), SeatState::free);
    EXPECT_EQ(now.count(SeatState::free), venue_->seat_count - 3);

    EXPECT_EQ(resolve(other, kept, true), (std::vector{Resolution::done, Resolution::done}));
    ASSERT_TRUE(hold(other, hold_of({63})).held);
    now = states(reader);
    EXPECT_EQ(now.get(60), SeatState::sold);
    EXPECT_EQ(now.get(61), SeatState::sold);
    EXPECT_EQ(now.get(63), SeatState::held);
    EXPECT_EQ(now.count(SeatState::sold), 3u);
    EXPECT_EQ(now.count(SeatState::held), 1u);
}

// On TigerBeetle a read after the first looks up only the seats that may have changed: those
// the sold account's credits named since, and those held (a hold may expire unseen).
TEST_P(SeatLedgerTest, ALaterReadLooksUpOnlyTheSeatsThatMayHaveChanged) {
    if (!tigerbeetle()) GTEST_SKIP() << only_tigerbeetle_reads_by_seat;
    SeatLedger& reader = open_seats();
    SeatLedger& other = open_seats();
    EXPECT_EQ(ids_looked_up_by_a_read(reader), venue_->seat_count);
    EXPECT_EQ(ids_looked_up_by_a_read(reader), 0);  // Nothing held, nothing changed.
    const SeatHoldRequest sold = hold_of({70});
    ASSERT_TRUE(hold(other, hold_of({71, 72})).held);
    ASSERT_TRUE(hold(other, sold).held);
    EXPECT_EQ(resolve(other, sold, true), std::vector{Resolution::done});
    EXPECT_EQ(ids_looked_up_by_a_read(reader), 3);  // 70, 71 and 72, named by their holds.
    EXPECT_EQ(ids_looked_up_by_a_read(reader), 2);  // 71 and 72, still held.
    const seating::SeatStates now = states(reader);
    EXPECT_EQ(now.get(70), SeatState::sold);
    EXPECT_EQ(now.get(71), SeatState::held);
    EXPECT_EQ(now.get(72), SeatState::held);
}

// Credits for more than half the seats since the last read: every seat is read whole again,
// and the read after that looks up only the seats still held.
TEST_P(SeatLedgerTest, ABacklogOfCreditsReadsEverySeatAgain) {
    if (!tigerbeetle()) GTEST_SKIP() << only_tigerbeetle_reads_by_seat;
    SeatLedger& reader = open_seats();
    SeatLedger& other = open_seats();
    EXPECT_EQ(ids_looked_up_by_a_read(reader), venue_->seat_count);
    constexpr SeatId pairs = 130;  // 260 holds' credits, and 10 voids': past half of 502 seats.
    std::vector<SeatHoldRequest> holds;
    for (SeatId pair = 0; pair < pairs; pair++) {
        holds.push_back(hold_of({2 * pair, 2 * pair + 1}));
        ASSERT_TRUE(hold(other, holds.back()).held);
    }
    for (std::size_t i = 0; i < 5; i++) {
        EXPECT_EQ(resolve(other, holds[i], false),
                  (std::vector{Resolution::done, Resolution::done}));
    }
    EXPECT_EQ(ids_looked_up_by_a_read(reader), venue_->seat_count);
    EXPECT_EQ(ids_looked_up_by_a_read(reader), 2 * pairs - 10);
    const seating::SeatStates now = states(reader);
    EXPECT_EQ(now.count(SeatState::held), 2 * pairs - 10);
    EXPECT_EQ(now.get(0), SeatState::free);
    EXPECT_EQ(now.get(10), SeatState::held);
}

// Fans race for few seats, each asking for two or three of them at random, through four
// ledgers: no seat is held twice, and every seat some hold took shows as held.
TEST_P(SeatLedgerTest, ConcurrentHoldsNeverHoldASeatTwice) {
    // Four ledgers on the same stores, as four server processes: on PostgreSQL four
    // connections whose transactions meet on the seats' row locks.
    std::vector<SeatLedger*> ledgers;
    for (int i = 0; i < 4; i++) ledgers.push_back(&open_seats());
    SeatLedger& seats = *ledgers.front();
    constexpr SeatId contested = 12;
    std::mt19937 random(7);
    std::vector<SeatHoldRequest> requests;
    for (int i = 0; i < 120; i++) {
        std::set<SeatId> picked;
        const std::size_t want = 2 + static_cast<std::size_t>(random() % 2);
        while (picked.size() < want) picked.insert(random() % contested);
        requests.push_back(hold_of(std::vector<SeatId>(picked.begin(), picked.end())));
    }
    auto results = run_concurrently<Result<SeatHoldResult>>(requests.size(), [&](std::size_t i) {
        return ledgers[i % ledgers.size()]->hold_seats(requests[i]);
    });
    std::multiset<SeatId> held;
    for (std::size_t i = 0; i < results.size(); i++) {
        ASSERT_TRUE(results[i].ok());
        if (!results[i]->held) {
            EXPECT_FALSE(results[i]->gone.empty());
            continue;
        }
        held.insert(requests[i].seats.begin(), requests[i].seats.end());
    }
    for (SeatId seat : held) EXPECT_EQ(held.count(seat), 1u) << "seat " << seat;
    EXPECT_FALSE(held.empty());
    const seating::SeatStates now = states(seats);
    EXPECT_EQ(now.count(SeatState::held), held.size());
    for (SeatId seat : held) EXPECT_EQ(now.get(seat), SeatState::held);
}

// Every hold comes back with its seat, order and how it ended; the reconciler writes the seat
// orders the ledger sold but no row records (a crash between the posts and the insert), whole
// ones PAID and partly sold ones PAID_UNFULFILLED, reports a PAID order whose seats were not
// sold to it, and a second pass writes nothing.
TEST_P(SeatLedgerTest, TheReconcilerWritesLostSeatOrdersFromTheHolds) {
    SeatLedger& seats = open_seats();
    Ledger& ledger = *ledgers_.back();
    auto orders =
        orders::make_postgres_order_store(io_.get_executor(), database_url_, 2, registry_);
    ASSERT_TRUE(run([&] { return orders->start(); }).ok());

    const SeatHoldRequest whole = hold_of({3, 4});
    const SeatHoldRequest partial = hold_of({10, 11});
    const SeatHoldRequest recorded = hold_of({20});
    const SeatHoldRequest open = hold_of({40});
    const SeatHoldRequest untraced = [&] {
        SeatHoldRequest request = hold_of({45});
        request.order_id = 0;
        return request;
    }();
    for (const SeatHoldRequest* request : {&whole, &partial, &recorded, &open, &untraced}) {
        ASSERT_TRUE(hold(seats, *request).held);
    }
    EXPECT_EQ(resolve(seats, whole, true), (std::vector{Resolution::done, Resolution::done}));
    SeatHoldRequest partial_first = partial;
    partial_first.seats = {10};
    partial_first.hold_ids = {partial.hold_ids[0]};
    SeatHoldRequest partial_second = partial;
    partial_second.seats = {11};
    partial_second.hold_ids = {partial.hold_ids[1]};
    EXPECT_EQ(resolve(seats, partial_first, true), std::vector{Resolution::done});
    EXPECT_EQ(resolve(seats, partial_second, false), std::vector{Resolution::done});
    EXPECT_EQ(resolve(seats, recorded, true), std::vector{Resolution::done});
    EXPECT_EQ(resolve(seats, untraced, true), std::vector{Resolution::done});

    auto entries = run([&] { return seats.hold_entries(); });
    ASSERT_TRUE(entries.ok());
    std::map<SeatId, SeatHoldEntry> by_seat;
    for (const SeatHoldEntry& entry : *entries) by_seat[entry.seat] = entry;
    ASSERT_EQ(by_seat.size(), 7u);
    EXPECT_EQ(by_seat[3].state, EntryState::posted);
    EXPECT_EQ(by_seat[3].order_id, whole.order_id);
    EXPECT_EQ(by_seat[3].hold_id, whole.hold_ids[0]);
    EXPECT_GE(by_seat[3].resolved_at_us, by_seat[3].held_at_us);
    EXPECT_GT(by_seat[3].held_at_us, 0);
    EXPECT_EQ(by_seat[11].state, EntryState::voided);
    EXPECT_EQ(by_seat[40].state, EntryState::pending);
    EXPECT_EQ(by_seat[40].resolved_at_us, 0);
    EXPECT_EQ(by_seat[45].order_id, u128{0});
    // One order's holds, read alone, are the holds of the whole reading that carry it.
    for (const SeatHoldRequest* request : {&whole, &partial, &open}) {
        // Each seat's hold id and state, or nothing when the read fails.
        const auto found = run([&]() -> awaitable<std::map<SeatId, std::pair<u128, EntryState>>> {
            std::map<SeatId, std::pair<u128, EntryState>> read;
            auto own = co_await seats.hold_entries_of(request->order_id);
            if (!own) co_return read;
            for (const SeatHoldEntry& entry : *own) {
                EXPECT_EQ(entry.order_id, request->order_id);
                read[entry.seat] = {entry.hold_id, entry.state};
            }
            co_return read;
        });
        std::map<SeatId, std::pair<u128, EntryState>> expected;
        for (SeatId seat : request->seats) {
            expected[seat] = {by_seat[seat].hold_id, by_seat[seat].state};
        }
        EXPECT_EQ(found, expected);
    }

    const std::int64_t premium = venue_->categories[0].price_cents;  // Row A is premium.
    orders::Order stored;
    stored.id = order_id_from(recorded.order_id);
    stored.ticket_transfer_id = recorded.hold_ids[0];
    stored.amount_cents = premium;
    stored.currency = "eur";
    stored.status = orders::OrderStatus::paid;
    stored.created_at_us = 1'000'000;
    stored.paid_at_us = 2'000'000;
    stored.ticket_code = new_ticket_code();
    stored.seats = {20};
    orders::Order unsold = stored;
    unsold.id = order_id_from(ids_.next());
    unsold.seats = {30};
    for (const orders::Order& order : {stored, unsold}) {
        ASSERT_TRUE(run([&] { return orders->insert(order); }).ok());
    }

    const flows::ReconcileOptions options{.repair = true, .grace_us = 0};
    const flows::ReconcileStores stores{ledger, *orders, venue_.get()};
    auto first = run([&] { return flows::reconcile(stores, options); });
    ASSERT_TRUE(first.ok());
    std::vector<std::string> expected{order_id_from(whole.order_id),
                                      order_id_from(partial.order_id)};
    std::vector<std::string> written = first->written;
    std::sort(expected.begin(), expected.end());
    std::sort(written.begin(), written.end());
    EXPECT_EQ(written, expected);
    EXPECT_EQ(first->paid_but_unposted, std::vector<std::string>{unsold.id});
    // Seat 10 is sold to a refunded order: for a person, on this pass and every later one.
    const std::string partial_id = order_id_from(partial.order_id);
    EXPECT_EQ(first->unfulfilled_but_posted, std::vector<std::string>{partial_id});
    EXPECT_EQ(first->open_holds, 1u);
    EXPECT_EQ(first->untraced_tickets, 1u);
    EXPECT_EQ(first->seat_orders, 3u);  // The one written among them.
    EXPECT_EQ(first->refunds, 1u);

    // find() keeps a view of the id while it runs: the ids live in named strings.
    const std::string whole_id = order_id_from(whole.order_id);
    auto found = run([&] { return orders->find(whole_id); });
    ASSERT_TRUE(found.ok() && found->has_value());
    const orders::Order& written_whole = **found;
    EXPECT_EQ(written_whole.status, orders::OrderStatus::paid);
    EXPECT_EQ(written_whole.seats, (std::vector<SeatId>{3, 4}));
    EXPECT_EQ(written_whole.amount_cents, 2 * premium);
    EXPECT_EQ(written_whole.ticket_transfer_id, whole.hold_ids[0]);
    EXPECT_FALSE(written_whole.ticket_code.empty());
    found = run([&] { return orders->find(partial_id); });
    ASSERT_TRUE(found.ok() && found->has_value());
    EXPECT_EQ((*found)->status, orders::OrderStatus::paid_unfulfilled);
    EXPECT_EQ((*found)->seats, (std::vector<SeatId>{10, 11}));
    EXPECT_TRUE((*found)->ticket_code.empty());

    auto second = run([&] { return flows::reconcile(stores, options); });
    ASSERT_TRUE(second.ok());
    EXPECT_TRUE(second->written.empty());
    EXPECT_EQ(second->seat_orders, 3u);
    EXPECT_EQ(second->refunds, 1u);
    EXPECT_EQ(second->paid_but_unposted, std::vector<std::string>{unsold.id});
    EXPECT_EQ(second->unfulfilled_but_posted, std::vector<std::string>{partial_id});
    EXPECT_FALSE(second->clean());

    run([&]() -> awaitable<bool> {
        co_await orders->stop();
        co_return true;
    });
}

std::string backend_name(const ::testing::TestParamInfo<std::string>& backend) {
    return backend.param;
}

INSTANTIATE_TEST_SUITE_P(Backends, SeatLedgerTest, ::testing::Values("postgresql", "tigerbeetle"),
                         backend_name);

}  // namespace
}  // namespace tigerfans::accounting

// The TigerBeetle Ledger against a real replica (TIGERBEETLE_BIN, release 0.17.8): holds, posts,
// voids, late bookings and inventory; no oversell under 500 concurrent holds; holds that expire
// by themselves; replayed commits that meet `exists`; and a start-up that neither re-creates
// accounts nor re-funds them. Each test formats its own throwaway cluster. Without
// TIGERBEETLE_BIN the tests skip and say why.
#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "accounting/tigerbeetle/client.hpp"
#include "accounting/tigerbeetle/library.hpp"
#include "accounting/tigerbeetle/requests.hpp"
#include "accounting/tigerbeetle/tigerbeetle_ledger.hpp"
#include "ledger_entries_check.hpp"
#include "support/process.hpp"
#include "support/run_async.hpp"
#include "support/tigerbeetle_server.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::accounting {
namespace {

using testing::run_async;

constexpr std::uint32_t ttl_s = 300;

class TbLedger : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string binary = testing::tigerbeetle_binary();
        if (binary.empty()) {
            testing::note_skipped_without_tigerbeetle();
            GTEST_SKIP() << "TigerBeetle ledger tests skipped: TIGERBEETLE_BIN is not set to a "
                            "tigerbeetle 0.17.8 server binary";
        }
        server_ = std::make_unique<testing::TigerBeetleServer>(binary, server_flags_);
    }

    void TearDown() override {
        for (auto& ledger : ledgers_) run_async(io_, [&]() { return stopped(*ledger); });
    }

    // A started ledger on this test's cluster.
    Ledger& start_ledger(Capacities capacities, std::uint32_t batches_in_flight = 1) {
        TigerBeetleOptions options;
        options.client_library_path = testing::tb_client_library_path();
        options.addresses = server_->address();
        options.capacities = capacities;
        options.batches_in_flight = batches_in_flight;
        ledgers_.push_back(make_tigerbeetle_ledger(io_.get_executor(), options, registry_));
        Ledger& ledger = *ledgers_.back();
        const Status started = run_async(io_, [&] { return ledger.start(); });
        EXPECT_TRUE(started.ok()) << "see " << server_->log_path();
        return ledger;
    }

    static asio::awaitable<bool> stopped(Ledger& ledger) {
        co_await ledger.stop();
        co_return true;
    }

    HoldRequest hold_request(TicketClass cls, std::uint32_t timeout_s = ttl_s) {
        return HoldRequest{cls, ids_.next(), ids_.next(), timeout_s, new_order_id()};
    }

    Inventory inventory(Ledger& ledger) {
        auto inventory = run_async(io_, [&] { return ledger.inventory(); });
        EXPECT_TRUE(inventory.ok());
        return inventory.ok() ? *inventory : Inventory{};
    }

    // Polls the inventory until `ready` holds (expiry is released by the cluster's pulse).
    bool wait_for_inventory(Ledger& ledger, const std::function<bool(const Inventory&)>& ready) {
        return testing::wait_until([&] { return ready(inventory(ledger)); },
                                   std::chrono::seconds(20));
    }

    // Registers `count` new client sessions (each makes one lookup), in waves of 32 so that the
    // replica's connection limit is never reached, closing each wave before the next.
    void crowd_out_sessions(std::size_t count) {
        constexpr std::size_t wave_clients_max = 32;
        std::string error;
        const tb::Library* library = tb::load_library(testing::tb_client_library_path(), error);
        ASSERT_NE(library, nullptr) << error;
        for (std::size_t done = 0; done < count; done += wave_clients_max) {
            register_wave(*library, std::min(wave_clients_max, count - done));
        }
    }

    void register_wave(const tb::Library& library, std::size_t size) {
        std::vector<std::unique_ptr<tb::Client>> wave;
        std::size_t answered = 0;
        for (std::size_t i = 0; i < size; i++) {
            wave.push_back(std::make_unique<tb::Client>(
                io_.get_executor(), library, tb::ClientOptions{server_->address(), 0, false}));
            ASSERT_TRUE(wave.back()->open().ok());
            asio::co_spawn(
                io_,
                [&, client = wave.back().get()]() -> asio::awaitable<void> {
                    const u128 id = 1;
                    auto found = co_await tb::lookup_accounts(*client, {}, std::span(&id, 1));
                    answered += found.ok();
                },
                asio::detached);
        }
        io_.restart();
        while (answered < size && io_.run_one() > 0) {
        }
        for (auto& client : wave) client->close();
        ASSERT_EQ(answered, size);
    }

    void expect_exactly_fifty_of_five_hundred_holds(std::uint32_t batches_in_flight);

    std::vector<std::string> server_flags_;  // Extra `tigerbeetle start` flags, set before SetUp.
    asio::io_context io_;
    metrics::Registry registry_;
    IdGenerator ids_;
    std::unique_ptr<testing::TigerBeetleServer> server_;
    std::vector<std::unique_ptr<Ledger>> ledgers_;
};

CommitRequest commit_of(const HoldRequest& hold, bool goodie_held) {
    return CommitRequest{hold.cls, hold.ticket_hold_id, hold.goodie_hold_id, goodie_held,
                         hold.order_id};
}

TEST_F(TbLedger, EntriesCarryEachHoldsOrderIdAndState) {
    // Read back through get_account_transfers: the order id rides in user_data_128 (posts and
    // voids inherit it), states are folded from the posts, voids and timeouts.
    Ledger& ledger = start_ledger({10, 10, 10});
    const testing_entries::Story story{hold_request(TicketClass::a), hold_request(TicketClass::b),
                                       hold_request(TicketClass::a),
                                       hold_request(TicketClass::a, 1)};
    for (const HoldRequest* request : {&story.paid, &story.failed, &story.open, &story.lapsed}) {
        auto held = run_async(io_, [&] { return ledger.hold(*request); });
        ASSERT_TRUE(held.ok() && held->ticket_held);
    }
    auto committed = run_async(io_, [&] { return ledger.commit(commit_of(story.paid, true)); });
    ASSERT_TRUE(committed.ok());
    const Status voided = run_async(io_, [&] {
        return ledger.cancel(story.failed.cls, story.failed.ticket_hold_id,
                             story.failed.goodie_hold_id);
    });
    ASSERT_TRUE(voided.ok());
    ASSERT_TRUE(wait_for_inventory(ledger, [](const Inventory& i) { return i.class_a.held == 1; }));
    auto booked = run_async(io_, [&] { return ledger.book_late(commit_of(story.lapsed, false)); });
    ASSERT_TRUE(booked.ok() && booked->got_ticket);
    auto entries = run_async(io_, [&] { return ledger.entries(); });
    ASSERT_TRUE(entries.ok());
    testing_entries::expect_story(*entries, story);
    for (const HoldRequest* request : {&story.paid, &story.failed, &story.open, &story.lapsed}) {
        auto own = run_async(io_, [&] { return ledger.entries_of(request->order_id); });
        ASSERT_TRUE(own.ok());
        testing_entries::expect_entries_of(*own, *entries, request->order_id);
    }
}

TEST_F(TbLedger, HoldCommitCancelAndLateBookingMoveTheInventory) {
    // The whole life of a reservation, checked against the account balances.
    Ledger& ledger = start_ledger({10, 5, 3});
    Inventory before = inventory(ledger);
    EXPECT_EQ(before.class_a.capacity, 10u);
    EXPECT_EQ(before.class_b.capacity, 5u);
    EXPECT_EQ(before.goodies.capacity, 3u);

    const HoldRequest paid = hold_request(TicketClass::a);
    auto held = run_async(io_, [&] { return ledger.hold(paid); });
    ASSERT_TRUE(held.ok());
    EXPECT_TRUE(held->ticket_held);
    EXPECT_TRUE(held->goodie_held);
    Inventory holding = inventory(ledger);
    EXPECT_EQ(holding.class_a.held, 1u);
    EXPECT_EQ(holding.goodies.held, 1u);
    EXPECT_EQ(holding.class_a.available(), 9u);

    auto committed = run_async(io_, [&] { return ledger.commit(commit_of(paid, true)); });
    ASSERT_TRUE(committed.ok());
    EXPECT_EQ(committed->ticket, Resolution::done);
    EXPECT_EQ(committed->goodie, Resolution::done);

    const HoldRequest abandoned = hold_request(TicketClass::b);
    ASSERT_TRUE(run_async(io_, [&] { return ledger.hold(abandoned); }).ok());
    const Status cancelled = run_async(io_, [&] {
        return ledger.cancel(abandoned.cls, abandoned.ticket_hold_id, abandoned.goodie_hold_id);
    });
    EXPECT_TRUE(cancelled.ok());

    const HoldRequest late = hold_request(TicketClass::b);  // Never held: booked directly.
    auto booked = run_async(io_, [&] { return ledger.book_late(commit_of(late, true)); });
    ASSERT_TRUE(booked.ok());
    EXPECT_TRUE(booked->got_ticket);
    EXPECT_TRUE(booked->got_goodie);

    Inventory after = inventory(ledger);
    EXPECT_EQ(after.class_a.sold, 1u);
    EXPECT_EQ(after.class_a.held, 0u);
    EXPECT_EQ(after.class_b.sold, 1u);
    EXPECT_EQ(after.class_b.held, 0u);
    EXPECT_EQ(after.goodies.sold, 2u);
    EXPECT_EQ(after.goodies.held, 0u);
}

// 500 holds at once on 50 tickets: the Budget account refuses the 51st debit, so exactly 50
// are held (and at most 20 goodies), however the batches fall.
void TbLedger::expect_exactly_fifty_of_five_hundred_holds(std::uint32_t batches_in_flight) {
    Ledger& ledger = start_ledger({50, 10, 20}, batches_in_flight);
    std::vector<Result<HoldResult>> results(500);
    std::size_t finished = 0;
    for (std::size_t i = 0; i < results.size(); i++) {
        asio::co_spawn(
            io_,
            [&, i, request = hold_request(TicketClass::a)]() -> asio::awaitable<void> {
                results[i] = co_await ledger.hold(request);
                finished++;
            },
            asio::detached);
    }
    io_.restart();
    while (finished < results.size() && io_.run_one() > 0) {
    }
    std::size_t tickets = 0;
    std::size_t goodies = 0;
    for (const auto& result : results) {
        ASSERT_TRUE(result.ok());
        tickets += result->ticket_held;
        goodies += result->goodie_held;
        if (!result->ticket_held) {
            EXPECT_FALSE(result->goodie_held);  // Voided at once.
        }
    }
    EXPECT_EQ(tickets, 50u);
    EXPECT_LE(goodies, 20u);
    const Inventory now = inventory(ledger);
    EXPECT_EQ(now.class_a.held, 50u);
    EXPECT_EQ(now.class_a.available(), 0u);
    EXPECT_EQ(now.goodies.held, goodies);
    const auto* batches =
        registry_.find_histogram("tigerfans_tb_batch_events", "operation=\"create_transfers\"");
    ASSERT_NE(batches, nullptr);
    EXPECT_LT(batches->count(), 100u);  // 500 callers shared packets.
}

TEST_F(TbLedger, FiveHundredConcurrentHoldsOnFiftyTicketsHoldExactlyFifty) {
    expect_exactly_fifty_of_five_hundred_holds(1);
}

TEST_F(TbLedger, WithFourBatchesInFlightFiveHundredHoldsStillHoldExactlyFifty) {
    expect_exactly_fifty_of_five_hundred_holds(4);
}

// Transfers the ledger has sent in create_transfers requests so far.
double transfers_sent(metrics::Registry& registry) {
    const auto* events =
        registry.find_histogram("tigerfans_tb_batch_events", "operation=\"create_transfers\"");
    return events == nullptr ? 0 : events->sum();
}

TEST_F(TbLedger, OnceTheGoodiesRunOutHoldsCarryOnlyTheTicketUntilSomeComeBack) {
    // One goodie: the second hold's goodie is refused by the cluster, and later holds send
    // only their ticket; a cancel gives the goodie back to the next hold; a goodie whose hold
    // expires is found by the once-a-second retry without any inventory read.
    Ledger& ledger = start_ledger({1000, 10, 1});
    const HoldRequest first = hold_request(TicketClass::a);
    ASSERT_TRUE(run_async(io_, [&] { return ledger.hold(first); })->goodie_held);
    ASSERT_FALSE(
        run_async(io_, [&] { return ledger.hold(hold_request(TicketClass::a)); })->goodie_held);
    const double before = transfers_sent(registry_);
    auto ticket_only = run_async(io_, [&] { return ledger.hold(hold_request(TicketClass::a)); });
    ASSERT_TRUE(ticket_only.ok() && ticket_only->ticket_held);
    EXPECT_FALSE(ticket_only->goodie_held);
    EXPECT_EQ(transfers_sent(registry_) - before, 1.0);

    ASSERT_TRUE(run_async(io_, [&] {
                    return ledger.cancel(first.cls, first.ticket_hold_id, first.goodie_hold_id);
                }).ok());
    const HoldRequest lapsing = hold_request(TicketClass::a, 1);
    ASSERT_TRUE(run_async(io_, [&] { return ledger.hold(lapsing); })->goodie_held);
    ASSERT_FALSE(
        run_async(io_, [&] { return ledger.hold(hold_request(TicketClass::a)); })->goodie_held);

    // Poll with holds until one gets the expired hold's goodie back.
    const auto started = std::chrono::steady_clock::now();
    const double sent_before = transfers_sent(registry_);
    std::size_t polls = 0;
    EXPECT_TRUE(testing::wait_until(
        [&] {
            polls++;
            auto held = run_async(io_, [&] { return ledger.hold(hold_request(TicketClass::a)); });
            return held.ok() && held->goodie_held;
        },
        std::chrono::seconds(20)));
    const std::chrono::duration<double> waited = std::chrono::steady_clock::now() - started;
    // One ticket per poll, and a goodie only on a retry: at most one a second, plus one.
    const double goodie_attempts = transfers_sent(registry_) - sent_before - double(polls);
    EXPECT_LE(goodie_attempts, waited.count() + 1.0) << polls << " polls";
    const Inventory now = inventory(ledger);
    EXPECT_EQ(now.goodies.held + now.goodies.sold, 1u);
}

TEST_F(TbLedger, AnExpiredHoldReturnsItsTicketAndCanOnlyBeBookedLateWhileStockLasts) {
    // Timeout 1 s: the cluster releases the hold by itself; posting then says expired; a late
    // booking succeeds while capacity remains and reports sold out once it does not.
    Ledger& ledger = start_ledger({1, 1, 1});
    const HoldRequest first = hold_request(TicketClass::a, 1);
    auto held = run_async(io_, [&] { return ledger.hold(first); });
    ASSERT_TRUE(held.ok());
    ASSERT_TRUE(held->ticket_held);
    auto blocked = run_async(io_, [&] { return ledger.hold(hold_request(TicketClass::a)); });
    ASSERT_TRUE(blocked.ok());
    EXPECT_FALSE(blocked->ticket_held);  // Sold out while held.

    ASSERT_TRUE(wait_for_inventory(
        ledger, [](const Inventory& i) { return i.class_a.held == 0 && i.goodies.held == 0; }));
    auto committed = run_async(io_, [&] { return ledger.commit(commit_of(first, true)); });
    ASSERT_TRUE(committed.ok());
    EXPECT_EQ(committed->ticket, Resolution::expired);
    EXPECT_EQ(committed->goodie, Resolution::expired);

    auto booked = run_async(io_, [&] { return ledger.book_late(commit_of(first, true)); });
    ASSERT_TRUE(booked.ok());
    EXPECT_TRUE(booked->got_ticket);
    EXPECT_TRUE(booked->got_goodie);

    const HoldRequest second = hold_request(TicketClass::a, 1);  // Already sold out.
    auto too_late = run_async(io_, [&] { return ledger.book_late(commit_of(second, true)); });
    ASSERT_TRUE(too_late.ok());
    EXPECT_FALSE(too_late->got_ticket);
    EXPECT_FALSE(too_late->got_goodie);
    const Inventory now = inventory(ledger);
    EXPECT_EQ(now.class_a.sold, 1u);
    EXPECT_EQ(now.goodies.sold, 1u);
}

TEST_F(TbLedger, ReplayedCommitsAndLateBookingsMeetExistsAndCountOnce) {
    // A retried webhook posts with the same derived id: done again, sold stays 1.
    Ledger& ledger = start_ledger({10, 10, 10});
    const HoldRequest hold = hold_request(TicketClass::b);
    ASSERT_TRUE(run_async(io_, [&] { return ledger.hold(hold); }).ok());
    for (int attempt = 0; attempt < 2; attempt++) {
        auto committed = run_async(io_, [&] { return ledger.commit(commit_of(hold, true)); });
        ASSERT_TRUE(committed.ok());
        EXPECT_EQ(committed->ticket, Resolution::done) << "attempt " << attempt;
        EXPECT_EQ(committed->goodie, Resolution::done) << "attempt " << attempt;
    }
    const HoldRequest late = hold_request(TicketClass::b);
    for (int attempt = 0; attempt < 2; attempt++) {
        auto booked = run_async(io_, [&] { return ledger.book_late(commit_of(late, false)); });
        ASSERT_TRUE(booked.ok());
        EXPECT_TRUE(booked->got_ticket);
    }
    const Inventory now = inventory(ledger);
    EXPECT_EQ(now.class_b.sold, 2u);
    EXPECT_EQ(now.goodies.sold, 1u);
}

TEST_F(TbLedger, PostingAVoidedHoldIsAConflictAndAnUnknownHoldIsNotFound) {
    // Resolved the other way already, or never held: reported, never acted on.
    Ledger& ledger = start_ledger({10, 10, 10});
    const HoldRequest hold = hold_request(TicketClass::a);
    ASSERT_TRUE(run_async(io_, [&] { return ledger.hold(hold); }).ok());
    ASSERT_TRUE(run_async(io_, [&] {
                    return ledger.cancel(hold.cls, hold.ticket_hold_id, hold.goodie_hold_id);
                }).ok());
    auto after_void = run_async(io_, [&] { return ledger.commit(commit_of(hold, true)); });
    ASSERT_TRUE(after_void.ok());
    EXPECT_EQ(after_void->ticket, Resolution::conflict);
    EXPECT_EQ(after_void->goodie, Resolution::conflict);
    auto unknown = run_async(
        io_, [&] { return ledger.commit(commit_of(hold_request(TicketClass::a), false)); });
    ASSERT_TRUE(unknown.ok());
    EXPECT_EQ(unknown->ticket, Resolution::not_found);
    EXPECT_EQ(inventory(ledger).class_a.sold, 0u);
}

TEST_F(TbLedger, StartingAgainNeitherRecreatesNorRefundsTheAccounts) {
    // start() twice, then a second ledger with a changed capacity: still the first capacity.
    Ledger& first = start_ledger({50, 40, 30});
    EXPECT_TRUE(run_async(io_, [&] { return first.start(); }).ok());
    Ledger& second = start_ledger({80, 40, 30});  // CAPACITY_A changed: logged, not applied.
    const Inventory now = inventory(second);
    EXPECT_EQ(now.class_a.capacity, 50u);
    EXPECT_EQ(now.class_b.capacity, 40u);
    EXPECT_EQ(now.goodies.capacity, 30u);
    EXPECT_EQ(now.class_a.available(), 50u);
}

TEST_F(TbLedger, HealthFollowsTheReplicaAndStopDrainsQueuedHolds) {
    // Healthy while the replica answers; holds queued at stop still finish; after stop every
    // call is refused; a stopped replica turns health false within the probe timeout.
    Ledger& ledger = start_ledger({100, 100, 100});
    EXPECT_TRUE(run_async(io_, [&] { return ledger.healthy(); }));
    std::size_t held = 0;
    for (int i = 0; i < 50; i++) {
        asio::co_spawn(
            io_,
            [&, request = hold_request(TicketClass::a)]() -> asio::awaitable<void> {
                auto result = co_await ledger.hold(request);
                held += result.ok() && result->ticket_held;
            },
            asio::detached);
    }
    io_.poll();  // Let them enqueue; their packet leaves.
    run_async(io_, [&] { return stopped(ledger); });
    io_.restart();
    io_.run();
    EXPECT_EQ(held, 50u);
    auto refused = run_async(io_, [&] { return ledger.hold(hold_request(TicketClass::a)); });
    EXPECT_FALSE(refused.ok());

    Ledger& other = start_ledger({100, 100, 100});
    server_->stop();
    // Health may still say true while the last answer is fresh (1 s), then a probe fails within
    // its timeout (1 s): how long that takes is what is measured.
    const auto stopped_at = std::chrono::steady_clock::now();
    EXPECT_TRUE(
        testing::wait_until([&] { return !run_async(io_, [&] { return other.healthy(); }); },
                            std::chrono::seconds(10)));
    EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::seconds(3));
}

// The replica gone with a hold in flight, which the cluster never times out: the stop waits out
// its drain timeout, then closes the client, which fails the hold, instead of hanging (as it
// did when a start-up gave up on a replica that stopped answering).
TEST_F(TbLedger, StopEndsAfterItsDrainTimeoutWhenTheReplicaNoLongerAnswers) {
    Ledger& ledger = start_ledger({100, 100, 100});
    server_->stop();
    std::optional<bool> held;
    asio::co_spawn(
        io_,
        [&, request = hold_request(TicketClass::a)]() -> asio::awaitable<void> {
            auto result = co_await ledger.hold(request);
            held = result.ok();
        },
        asio::detached);
    io_.poll();
    const auto stopping = std::chrono::steady_clock::now();
    std::optional<bool> stop_ended;
    testing::start_async(io_, stopped(ledger), stop_ended);
    const auto give_up = stopping + std::chrono::seconds(30);
    io_.restart();
    while ((!stop_ended || !held) && std::chrono::steady_clock::now() < give_up) {
        io_.run_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(stop_ended.has_value()) << "the stop still waits after 30 s";
    const auto took = std::chrono::steady_clock::now() - stopping;
    EXPECT_GE(took, std::chrono::milliseconds(limits::shutdown_drain_timeout_ms));
    EXPECT_LT(took, std::chrono::milliseconds(limits::shutdown_drain_timeout_ms + 5'000));
    EXPECT_EQ(held, std::optional<bool>(false));
}

// A --development replica accepts 8 client connections; 56 more pipeline requests allow 64.
class TbLedgerCrowded : public TbLedger {
protected:
    TbLedgerCrowded() { server_flags_ = {"--limit-pipeline-requests=56"}; }
};

TEST_F(TbLedgerCrowded, AnEvictedClientFailsItsCallersWith503AndIsRecreated) {
    // 64 newer sessions push the ledger's session out (clients_max = 64): its next call fails
    // with unavailable, and after the back-off the client is re-created and serves again.
    Ledger& ledger = start_ledger({10, 10, 10});
    crowd_out_sessions(64);
    auto evicted = run_async(io_, [&] { return ledger.hold(hold_request(TicketClass::a)); });
    ASSERT_FALSE(evicted.ok());
    EXPECT_EQ(evicted.fault(), Fault::unavailable);
    // Calls fail as unavailable until the re-open back-off (1 s) lets the client be re-created.
    bool recreated = false;
    EXPECT_TRUE(testing::wait_until(
        [&] {
            auto held = run_async(io_, [&] { return ledger.hold(hold_request(TicketClass::a)); });
            EXPECT_TRUE(held.ok() || held.fault() == Fault::unavailable);
            recreated = held.ok() && held->ticket_held;
            return held.ok();
        },
        std::chrono::seconds(10)));
    EXPECT_TRUE(recreated);
    EXPECT_EQ(inventory(ledger).class_a.held, 1u);
}

}  // namespace
}  // namespace tigerfans::accounting

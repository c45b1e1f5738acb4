// The PostgreSQL ledger against a real database: TigerBeetle's semantics (holds that expire by
// themselves, post, void, late booking, idempotent retries) and no oversell under concurrency,
// within one ledger's batches and across two ledgers (two server processes) on one database.
#include <pqxx/pqxx>

#include "accounting/postgres/postgres_ledger.hpp"
#include "ledger_entries_check.hpp"
#include "pg_test_helpers.hpp"
#include "tigerfans/core/ids.hpp"

namespace tigerfans::accounting {
namespace {

using asio::awaitable;

constexpr std::uint32_t long_timeout_s = 300;

class PgLedgerTest : public testing::PgTest {
protected:
    void TearDown() override {
        for (auto& ledger : ledgers_) {
            run([&]() -> awaitable<bool> {
                co_await ledger->stop();
                co_return true;
            });
        }
    }

    // A started ledger; several may share the test's database, as server processes would.
    Ledger& open_ledger(Capacities capacities) {
        ledgers_.push_back(
            make_postgres_ledger(io_.get_executor(), database_url_, capacities, registry_));
        Ledger& ledger = *ledgers_.back();
        EXPECT_TRUE(run([&] { return ledger.start(); }).ok());
        return ledger;
    }

    HoldRequest hold_request(TicketClass cls = TicketClass::a,
                             std::uint32_t timeout_s = long_timeout_s) {
        return HoldRequest{cls, ids_.next(), ids_.next(), timeout_s, new_order_id()};
    }

    static CommitRequest commit_request(const HoldRequest& hold, bool goodie_held = true) {
        return CommitRequest{hold.cls, hold.ticket_hold_id, hold.goodie_hold_id, goodie_held,
                             hold.order_id};
    }

    HoldResult hold(Ledger& ledger, const HoldRequest& request) {
        auto result = run([&] { return ledger.hold(request); });
        EXPECT_TRUE(result.ok());
        return result.ok() ? *result : HoldResult{};
    }

    CommitResult commit(Ledger& ledger, const CommitRequest& request) {
        auto result = run([&] { return ledger.commit(request); });
        EXPECT_TRUE(result.ok());
        return result.ok() ? *result : CommitResult{};
    }

    BookResult book_late(Ledger& ledger, const CommitRequest& request) {
        auto result = run([&] { return ledger.book_late(request); });
        EXPECT_TRUE(result.ok());
        return result.ok() ? *result : BookResult{};
    }

    void cancel(Ledger& ledger, const HoldRequest& request) {
        EXPECT_TRUE(run([&] {
                        return ledger.cancel(request.cls, request.ticket_hold_id,
                                             request.goodie_hold_id);
                    }).ok());
    }

    // Waits until `request`'s holds are past their timeout by the database's clock (both were
    // written by one statement: they share their expiry).
    bool wait_until_overdue(const HoldRequest& request) {
        return wait_until_database("SELECT count(*) = 1 FROM ledger_holds WHERE id = '" +
                                   u128_to_decimal(request.ticket_hold_id) +
                                   "' AND expires_at <= statement_timestamp()");
    }

    Inventory inventory(Ledger& ledger) {
        auto result = run([&] { return ledger.inventory(); });
        EXPECT_TRUE(result.ok());
        return result.ok() ? *result : Inventory{};
    }

    // Holds `count` tickets at once, spread over `ledgers`; returns how many were held.
    std::size_t hold_concurrently(const std::vector<Ledger*>& ledgers, std::size_t count,
                                  std::vector<HoldRequest>& held) {
        std::vector<HoldRequest> requests;
        for (std::size_t i = 0; i < count; i++) requests.push_back(hold_request());
        const auto results = run_concurrently<Result<HoldResult>>(
            count, [&](std::size_t i) { return ledgers[i % ledgers.size()]->hold(requests[i]); });
        for (std::size_t i = 0; i < count; i++) {
            EXPECT_TRUE(results[i].ok());
            if (results[i].ok() && results[i]->ticket_held) held.push_back(requests[i]);
        }
        return held.size();
    }

    // The counters on the resource rows must equal what the hold rows say.
    void expect_counters_match_rows() {
        pqxx::connection connection(database_url_);
        pqxx::nontransaction query(connection);
        const pqxx::result mismatches = query.exec(R"(
            SELECT r.name FROM ledger_resources r
            WHERE r.held <> (SELECT count(*) FROM ledger_holds h
                             WHERE h.resource = r.name AND h.status = 'pending')
               OR r.sold <> (SELECT count(*) FROM ledger_holds h
                             WHERE h.resource = r.name AND h.status = 'posted'))");
        EXPECT_EQ(mismatches.size(), 0u);
    }

    IdGenerator ids_;
    std::vector<std::unique_ptr<Ledger>> ledgers_;
};

TEST_F(PgLedgerTest, HoldCommitCancelAndInventoryFollowTheHolds) {
    Ledger& ledger = open_ledger({10, 10, 1});
    EXPECT_EQ(ledger.backend_name(), "PostgreSQL");
    const HoldRequest paid = hold_request();
    const HoldRequest failed = hold_request(TicketClass::b);
    const HoldResult paid_hold = hold(ledger, paid);
    EXPECT_TRUE(paid_hold.ticket_held && paid_hold.goodie_held);
    const HoldResult failed_hold = hold(ledger, failed);
    EXPECT_TRUE(failed_hold.ticket_held);
    EXPECT_FALSE(failed_hold.goodie_held);  // The only goodie is held by the first order.
    Inventory held = inventory(ledger);
    EXPECT_EQ(held.class_a.held, 1u);
    EXPECT_EQ(held.class_b.held, 1u);
    EXPECT_EQ(held.goodies.available(), 0u);

    const CommitResult committed = commit(ledger, commit_request(paid));
    EXPECT_EQ(committed.ticket, Resolution::done);
    EXPECT_EQ(committed.goodie, Resolution::done);
    cancel(ledger, failed);
    const Inventory after = inventory(ledger);
    EXPECT_EQ(after.class_a.sold, 1u);
    EXPECT_EQ(after.class_a.held, 0u);
    EXPECT_EQ(after.class_b.sold, 0u);
    EXPECT_EQ(after.class_b.held, 0u);
    EXPECT_EQ(after.class_b.available(), 10u);
    EXPECT_EQ(after.goodies.sold, 1u);
    EXPECT_TRUE(run([&] { return ledger.healthy(); }));
    expect_counters_match_rows();
}

// 500 fans, 50 tickets: exactly 50 holds, and committing them sells exactly 50.
TEST_F(PgLedgerTest, ConcurrentHoldsNeverOversell) {
    Ledger& ledger = open_ledger({50, 50, 20});
    std::vector<HoldRequest> held;
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(hold_concurrently({&ledger}, 500, held), 50u);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    std::printf("[ measure  ] 500 concurrent holds in %.3f s (%.0f holds/s)\n", elapsed.count(),
                500 / elapsed.count());
    EXPECT_EQ(inventory(ledger).class_a.held, 50u);
    EXPECT_EQ(inventory(ledger).goodies.held, 20u);
    const auto commits = run_concurrently<Result<CommitResult>>(
        held.size(), [&](std::size_t i) { return ledger.commit(commit_request(held[i])); });
    for (const auto& result : commits) EXPECT_EQ(result->ticket, Resolution::done);
    const Inventory sold = inventory(ledger);
    EXPECT_EQ(sold.class_a.sold, 50u);
    EXPECT_EQ(sold.class_a.held, 0u);
    EXPECT_EQ(sold.goodies.sold, 20u);  // Goodies went to the first 20 held orders only.
    EXPECT_LT(batch_sizes("ledger")->count(), 500u);  // Batched, not one transaction per hold.
    expect_counters_match_rows();
}

// Large batches (up to the batch limit) keep the counters equal to what the rows say.
TEST_F(PgLedgerTest, ManyHoldsAndCommitsInLargeBatchesKeepExactCounts) {
    const std::size_t hold_count = testing::test_ops(4000);
    const std::uint64_t capacity = hold_count / 2;
    Ledger& ledger = open_ledger({capacity, capacity, capacity / 2});
    std::vector<HoldRequest> held;
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(hold_concurrently({&ledger}, hold_count, held), capacity);
    const std::chrono::duration<double> hold_s = std::chrono::steady_clock::now() - started;
    started = std::chrono::steady_clock::now();
    const auto commits = run_concurrently<Result<CommitResult>>(
        held.size(), [&](std::size_t i) { return ledger.commit(commit_request(held[i])); });
    const std::chrono::duration<double> commit_s = std::chrono::steady_clock::now() - started;
    for (const auto& result : commits) EXPECT_EQ(result->ticket, Resolution::done);
    const Inventory counts = inventory(ledger);
    EXPECT_EQ(counts.class_a.sold, capacity);
    EXPECT_EQ(counts.goodies.sold, capacity / 2);
    expect_counters_match_rows();
    std::printf("[ measure  ] %zu holds: %.0f holds/s; %zu commits: %.0f commits/s\n", hold_count,
                static_cast<double>(hold_count) / hold_s.count(), held.size(),
                static_cast<double>(held.size()) / commit_s.count());
}

// Two ledgers on one database stand for two server processes: their batches interleave on
// separate connections, and the row locks still let only 50 holds through.
TEST_F(PgLedgerTest, TwoLedgersOnOneDatabaseNeverOversell) {
    Ledger& first = open_ledger({50, 50, 50});
    Ledger& second = open_ledger({50, 50, 50});
    std::vector<HoldRequest> held;
    EXPECT_EQ(hold_concurrently({&first, &second}, 500, held), 50u);
    EXPECT_EQ(inventory(first).class_a.held, 50u);
    EXPECT_EQ(inventory(second).class_a.held, 50u);
    const auto commits = run_concurrently<Result<CommitResult>>(held.size(), [&](std::size_t i) {
        return (i % 2 == 0 ? first : second).commit(commit_request(held[i]));
    });
    for (const auto& result : commits) EXPECT_EQ(result->ticket, Resolution::done);
    EXPECT_EQ(inventory(first).class_a.sold, 50u);
    std::vector<HoldRequest> more;
    EXPECT_EQ(hold_concurrently({&first, &second}, 20, more), 0u);
    expect_counters_match_rows();
}

// Holds expire by themselves: capacity comes back without any cancel, posting reports
// expired, and a late booking takes what is left.
TEST_F(PgLedgerTest, EntriesCarryEachHoldsOrderIdAndState) {
    Ledger& ledger = open_ledger({10, 10, 10});
    const testing_entries::Story story{hold_request(), hold_request(TicketClass::b), hold_request(),
                                       hold_request(TicketClass::a, 1)};
    for (const HoldRequest* request : {&story.paid, &story.failed, &story.open, &story.lapsed}) {
        ASSERT_TRUE(hold(ledger, *request).ticket_held);
    }
    EXPECT_EQ(commit(ledger, commit_request(story.paid)).ticket, Resolution::done);
    cancel(ledger, story.failed);
    ASSERT_TRUE(wait_until_overdue(story.lapsed));
    EXPECT_TRUE(book_late(ledger, commit_request(story.lapsed, false)).got_ticket);
    auto entries = run([&] { return ledger.entries(); });
    ASSERT_TRUE(entries.ok());
    testing_entries::expect_story(*entries, story);
    for (const HoldRequest* request : {&story.paid, &story.failed, &story.open, &story.lapsed}) {
        // Taken out of the Result inside the coroutine (GCC 12 warns about the vector's copy
        // out of a Result an awaitable returns directly); a fault leaves it empty, which fails.
        const std::vector<LedgerEntry> own = run([&]() -> awaitable<std::vector<LedgerEntry>> {
            auto found = co_await ledger.entries_of(request->order_id);
            co_return found.ok() ? *found : std::vector<LedgerEntry>();
        });
        testing_entries::expect_entries_of(own, *entries, request->order_id);
    }
}

TEST_F(PgLedgerTest, ExpiredHoldsReleaseCapacityAndCannotBePosted) {
    Ledger& ledger = open_ledger({2, 2, 2});
    const HoldRequest first = hold_request(TicketClass::a, 1);
    const HoldRequest second = hold_request(TicketClass::a, 1);
    ASSERT_TRUE(hold(ledger, first).ticket_held);
    ASSERT_TRUE(hold(ledger, second).ticket_held);
    EXPECT_FALSE(hold(ledger, hold_request()).ticket_held);
    ASSERT_TRUE(wait_until_overdue(second));  // Held after `first`: expires last.
    const Inventory released = inventory(ledger);
    EXPECT_EQ(released.class_a.held, 0u);
    EXPECT_EQ(released.class_a.available(), 2u);
    EXPECT_EQ(released.goodies.held, 0u);

    const CommitResult late = commit(ledger, commit_request(first));
    EXPECT_EQ(late.ticket, Resolution::expired);
    EXPECT_EQ(late.goodie, Resolution::expired);
    const BookResult booked = book_late(ledger, commit_request(first));
    EXPECT_TRUE(booked.got_ticket && booked.got_goodie);
    ASSERT_TRUE(hold(ledger, hold_request()).ticket_held);  // Takes the last ticket.
    const BookResult refused = book_late(ledger, commit_request(second));
    EXPECT_FALSE(refused.got_ticket || refused.got_goodie);
    const Inventory final_counts = inventory(ledger);
    EXPECT_EQ(final_counts.class_a.sold, 1u);
    EXPECT_EQ(final_counts.class_a.held, 1u);
    expect_counters_match_rows();
}

// Posting a hold whose timeout passed reports expired even when no batch swept it yet: the
// commit's own batch expires it first.
TEST_F(PgLedgerTest, PostingAnOverdueHoldReportsExpiredWithoutAnEarlierSweep) {
    Ledger& ledger = open_ledger({5, 5, 5});
    const HoldRequest request = hold_request(TicketClass::b, 1);
    ASSERT_TRUE(hold(ledger, request).ticket_held);
    ASSERT_TRUE(wait_until_overdue(request));
    EXPECT_EQ(commit(ledger, commit_request(request)).ticket, Resolution::expired);
    EXPECT_EQ(inventory(ledger).class_b.sold, 0u);
}

// A retried webhook repeats commit, cancel or late booking: each acts once.
TEST_F(PgLedgerTest, ReplayedCommitCancelAndLateBookingAreIdempotent) {
    Ledger& ledger = open_ledger({5, 5, 5});
    const HoldRequest paid = hold_request();
    const HoldRequest voided = hold_request();
    ASSERT_TRUE(hold(ledger, paid).ticket_held);
    ASSERT_TRUE(hold(ledger, voided).ticket_held);
    EXPECT_EQ(commit(ledger, commit_request(paid)).ticket, Resolution::done);
    EXPECT_EQ(commit(ledger, commit_request(paid)).ticket, Resolution::done);
    cancel(ledger, paid);  // Void after post: nothing changes.
    cancel(ledger, voided);
    cancel(ledger, voided);
    EXPECT_EQ(commit(ledger, commit_request(voided)).ticket, Resolution::conflict);
    EXPECT_EQ(commit(ledger, commit_request(hold_request())).ticket, Resolution::not_found);
    const HoldRequest late = hold_request(TicketClass::a, 1);
    ASSERT_TRUE(hold(ledger, late).ticket_held);
    ASSERT_TRUE(wait_until_overdue(late));
    const auto bookings = run_concurrently<Result<BookResult>>(
        3, [&](std::size_t) { return ledger.book_late(commit_request(late)); });
    for (const auto& booking : bookings) EXPECT_TRUE(booking->got_ticket && booking->got_goodie);
    EXPECT_TRUE(book_late(ledger, commit_request(late)).got_ticket);
    const Inventory counts = inventory(ledger);
    EXPECT_EQ(counts.class_a.sold, 2u);
    EXPECT_EQ(counts.class_a.held, 0u);
    EXPECT_EQ(counts.goodies.sold, 2u);
    expect_counters_match_rows();
}

// A restart (a new ledger on the same database) keeps sold and held; a new capacity applies.
TEST_F(PgLedgerTest, ARestartKeepsSoldAndHeldAndAppliesANewCapacity) {
    Ledger& before = open_ledger({10, 10, 10});
    const HoldRequest paid = hold_request();
    ASSERT_TRUE(hold(before, paid).ticket_held);
    ASSERT_TRUE(hold(before, hold_request()).ticket_held);
    commit(before, commit_request(paid));
    Ledger& same = open_ledger({10, 10, 10});
    const Inventory kept = inventory(same);
    EXPECT_EQ(kept.class_a.sold, 1u);
    EXPECT_EQ(kept.class_a.held, 1u);
    EXPECT_EQ(kept.class_a.capacity, 10u);
    Ledger& resized = open_ledger({3, 10, 10});
    const Inventory smaller = inventory(resized);
    EXPECT_EQ(smaller.class_a.capacity, 3u);
    EXPECT_EQ(smaller.class_a.sold, 1u);
    EXPECT_EQ(smaller.class_a.available(), 1u);
}

// A database that does not answer gives faults, not hangs.
TEST_F(PgLedgerTest, AnUnreachableDatabaseGivesFaults) {
    auto ledger =
        make_postgres_ledger(io_.get_executor(), "postgresql:///none?host=/nonexistent&port=1",
                             Capacities{1, 1, 1}, registry_);
    const auto started = std::chrono::steady_clock::now();
    EXPECT_FALSE(run([&] { return ledger->start(); }).ok());
    const auto result = run([&] { return ledger->hold(hold_request()); });
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.fault(), Fault::unavailable);
    EXPECT_FALSE(run([&] { return ledger->healthy(); }));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    run([&]() -> awaitable<bool> {
        co_await ledger->stop();
        co_return true;
    });
}

}  // namespace
}  // namespace tigerfans::accounting

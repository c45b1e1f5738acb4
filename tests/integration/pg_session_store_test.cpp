// The PostgreSQL payment-session store against a real database: sessions round-trip and
// expire, removal and listings work, and the webhook gate and checkout keys let exactly one of
// many identical concurrent calls through (within one store and across two, as across server
// processes).
// GCC 12 warns that the listing's vector "may be used uninitialized" where Asio moves the
// Result<PendingList> out of the coroutine's completion handler: a known false positive of its
// variant analysis at -O2, which -Werror would turn into a build failure.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <pqxx/pqxx>

#include "pg_test_helpers.hpp"
#include "sessions/postgres/postgres_session_store.hpp"
#include "support/session_expectations.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::sessions {
namespace {

using asio::awaitable;

constexpr std::uint32_t session_ttl_s = 360;

class PgSessionStoreTest : public testing::PgTest {
protected:
    void SetUp() override { store_ = &open_store(); }

    void TearDown() override {
        for (auto& store : stores_) {
            run([&]() -> awaitable<bool> {
                co_await store->stop();
                co_return true;
            });
        }
    }

    SessionStore& open_store() {
        stores_.push_back(make_postgres_store(io_.get_executor(), database_url_, registry_));
        SessionStore& store = *stores_.back();
        EXPECT_TRUE(run([&] { return store.start(); }).ok());
        return store;
    }

    PaymentSession make_session(std::int64_t created_at_us) {
        PaymentSession session;
        session.psid = new_payment_session_id();
        session.order_id = order_id_from(ids_.next());
        session.cls = TicketClass::a;
        session.customer_email = "fan+\"quoted\"@example.com";
        session.ticket_hold_id = ids_.next();
        session.goodie_hold_id = ids_.next();
        session.goodie_held = true;
        session.amount_cents = price_cents(TicketClass::a);
        session.currency = "eur";
        session.created_at_us = created_at_us;
        return session;
    }

    void save(const PaymentSession& session, std::uint32_t ttl_s = session_ttl_s) {
        EXPECT_TRUE(run([&] { return store_->save(session, ttl_s); }).ok());
    }

    std::optional<PaymentSession> find(const std::string& psid) {
        auto found = run([&] { return store_->find(psid); });
        EXPECT_TRUE(found.ok());
        return found.ok() ? *found : std::nullopt;
    }

    GateAnswer take_lease(SessionStore& store, const std::string& psid,
                          std::uint32_t lease_ms = 5'000, bool payment = false) {
        const std::string token = new_lease_token();  // Outlives the call: it takes a view.
        auto gate = run([&] { return store.take_lease(psid, token, lease_ms, payment); });
        EXPECT_TRUE(gate.ok());
        return gate.ok() ? *gate : GateAnswer{};
    }

    // Seconds until the stored session `psid` expires, by the database's clock.
    std::int64_t seconds_left(const std::string& psid) {
        return query_value<std::int64_t>(
            "SELECT extract(epoch FROM expires_at - now())::bigint FROM payment_sessions "
            "WHERE psid = $1",
            psid);
    }

    std::size_t rows(const char* table) {
        pqxx::connection connection(database_url_);
        pqxx::nontransaction query(connection);
        return query.exec(std::string("SELECT count(*) FROM ") + table)[0][0].as<std::size_t>();
    }

    // Moves every gate key's expiry into the past, as if its TTL had run out.
    void expire_gates() {
        pqxx::connection connection(database_url_);
        pqxx::nontransaction command(connection);
        command.exec("UPDATE webhook_leases SET expires_at = now() - interval '1 second'");
    }

    // A claim of `key_id` for a request with `fingerprint`, under a fresh token.
    static KeyClaim key_claim(const std::string& key_id, const std::string& fingerprint) {
        KeyClaim claim;
        claim.key_id = key_id;
        claim.fingerprint = fingerprint;
        claim.token = new_lease_token();
        return claim;
    }

    KeyAnswer claim_key(SessionStore& store, const KeyClaim& claim, std::uint32_t lease_ms) {
        auto answer = run([&] { return store.claim_key(claim, lease_ms); });
        EXPECT_TRUE(answer.ok());
        return answer.ok() ? *answer : KeyAnswer{};
    }

    // Moves every held (unpaid) ticket slot's end into the past, as if its time had run out.
    void expire_held_slots() {
        pqxx::connection connection(database_url_);
        pqxx::nontransaction command(connection);
        command.exec(
            "UPDATE email_slots SET counts_until = now() - interval '1 second' "
            "WHERE counts_until <> 'infinity'");
    }

    bool claim(SessionStore& store, const std::string& order_id, std::uint32_t limit) {
        auto claimed =
            run([&] { return store.claim_email_slot(slot_email, order_id, 60'000, limit); });
        EXPECT_TRUE(claimed.ok());
        return claimed.ok() && *claimed;
    }

    void settle(const std::string& order_id, bool paid) {
        EXPECT_TRUE(
            run([&] { return store_->settle_email_slot(slot_email, order_id, paid); }).ok());
    }

    static constexpr std::string_view slot_email = "fan's+slots@example.com";

    IdGenerator ids_;
    std::vector<std::unique_ptr<SessionStore>> stores_;
    SessionStore* store_ = nullptr;
};

TEST_F(PgSessionStoreTest, ASavedSessionIsFoundWithEveryField) {
    EXPECT_EQ(store_->backend_name(), "PostgreSQL");
    const PaymentSession session = make_session(unix_now_us());
    save(session);
    const auto found = find(session.psid);
    ASSERT_TRUE(found.has_value());
    testing::expect_same_session(*found, session);
    EXPECT_FALSE(find(new_payment_session_id()).has_value());
    EXPECT_TRUE(run([&] { return store_->healthy(); }));
}

// Saving again replaces the session (and its TTL), as a Redis SET would.
TEST_F(PgSessionStoreTest, SavingAgainReplacesTheSession) {
    PaymentSession session = make_session(unix_now_us());
    save(session, 1);
    session.goodie_held = false;
    session.customer_email = "other@example.com";
    save(session);
    EXPECT_GT(seconds_left(session.psid), static_cast<std::int64_t>(session_ttl_s) - 60);
    const auto found = find(session.psid);
    ASSERT_TRUE(found.has_value());
    testing::expect_same_session(*found, session);
}

TEST_F(PgSessionStoreTest, AnExpiredSessionIsNotFoundAndIsCleanedUp) {
    const PaymentSession session = make_session(unix_now_us());
    save(session, 1);
    ASSERT_TRUE(find(session.psid).has_value());
    ASSERT_TRUE(wait_until_database("SELECT count(*) = 1 FROM payment_sessions WHERE psid = '" +
                                    session.psid + "' AND expires_at <= now()"));
    EXPECT_FALSE(find(session.psid).has_value());
    const auto recent = run([&] { return store_->recent(10); });
    ASSERT_TRUE(recent.ok());
    EXPECT_EQ(recent->total, 0u);
    EXPECT_EQ(rows("payment_sessions"), 0u);  // The find's batch deleted it.
}

TEST_F(PgSessionStoreTest, ARemovedSessionIsGone) {
    const PaymentSession session = make_session(unix_now_us());
    save(session);
    EXPECT_TRUE(run([&] { return store_->remove(session.psid); }).ok());
    EXPECT_FALSE(find(session.psid).has_value());
    EXPECT_TRUE(run([&] { return store_->remove(session.psid); }).ok());  // Twice is fine.
}

// The done mark drops the session in the same transaction: a paid order's is deleted, an
// unpaid one's stays, off the pending list (a payment may still follow).
TEST_F(PgSessionStoreTest, FinishingTheGateDropsTheSession) {
    const PaymentSession paid = make_session(unix_now_us());
    const PaymentSession failed = make_session(unix_now_us() + 1);
    save(paid);
    save(failed);
    EXPECT_TRUE(run([&] { return store_->finish_gate(paid.psid, "PAID_UNFULFILLED"); }).ok());
    EXPECT_TRUE(run([&] { return store_->finish_gate(failed.psid, "FAILED"); }).ok());
    EXPECT_FALSE(find(paid.psid).has_value());
    EXPECT_TRUE(find(failed.psid).has_value());
    const auto recent = run([&] { return store_->recent(10); });
    ASSERT_TRUE(recent.ok());
    EXPECT_EQ(recent->total, 0u);
    for (const char* psid : {paid.psid.c_str(), failed.psid.c_str()}) {
        const auto replay = run([&] { return store_->take_lease(psid, "lease-b", 5'000, false); });
        ASSERT_TRUE(replay.ok());
        EXPECT_EQ(replay->state, GateState::done);
    }
}

// Checkout's correction of the goodie changes that column alone and only of a session that
// exists: a paid order's dropped session stays gone, an unpaid one's stays off the pending list,
// the expiry stays.
TEST_F(PgSessionStoreTest, CorrectingTheGoodieNeverBringsADroppedSessionBack) {
    const PaymentSession listed = make_session(unix_now_us());
    const PaymentSession canceled = make_session(unix_now_us() + 1);
    const PaymentSession paid = make_session(unix_now_us() + 2);
    for (const PaymentSession* session : {&listed, &canceled, &paid}) save(*session, 300);
    EXPECT_TRUE(run([&] { return store_->finish_gate(canceled.psid, "CANCELED"); }).ok());
    EXPECT_TRUE(run([&] { return store_->finish_gate(paid.psid, "PAID"); }).ok());

    const std::string expiry_sql = "SELECT expires_at::text FROM payment_sessions WHERE psid = $1";
    const std::string listed_expiry = query_value<std::string>(expiry_sql, listed.psid);
    const std::string canceled_expiry = query_value<std::string>(expiry_sql, canceled.psid);
    for (const PaymentSession* session : {&listed, &canceled, &paid}) {
        EXPECT_TRUE(run([&] { return store_->correct_goodie(session->psid, false); }).ok());
    }
    for (const PaymentSession* session : {&listed, &canceled}) {
        const auto found = find(session->psid);
        ASSERT_TRUE(found.has_value());
        PaymentSession expected = *session;
        expected.goodie_held = false;
        testing::expect_same_session(*found, expected);
    }
    EXPECT_EQ(query_value<std::string>(expiry_sql, listed.psid), listed_expiry);
    EXPECT_EQ(query_value<std::string>(expiry_sql, canceled.psid), canceled_expiry);
    EXPECT_FALSE(find(paid.psid).has_value());
    EXPECT_EQ(query_value<std::int64_t>("SELECT count(*) FROM payment_sessions WHERE psid = $1",
                                        paid.psid),
              0);
    const auto recent = run([&] { return store_->recent(10); });
    ASSERT_TRUE(recent.ok());
    EXPECT_EQ(recent->total, 1u);
    ASSERT_EQ(recent->sessions.size(), 1u);
    EXPECT_EQ(recent->sessions.front().psid, listed.psid);
}

// In one batch: a correction beside the paid done mark leaves the session gone, and two
// corrections of one session leave one of them, without failing the batch.
TEST_F(PgSessionStoreTest, CorrectionsShareABatchWithTheDoneMark) {
    const PaymentSession paid = make_session(unix_now_us());
    const PaymentSession twice = make_session(unix_now_us() + 1);
    save(paid);
    save(twice);
    const std::uint64_t batches_before = batch_sizes("sessions")->count();
    // The lookup first: should the batcher send it alone, the rest still go together.
    const auto results = run_concurrently<Status>(5, [&](std::size_t i) -> asio::awaitable<Status> {
        if (i == 0) {
            auto found = co_await store_->find(twice.psid);
            co_return found.ok() ? done() : Status(found.fault());
        }
        if (i == 1) co_return co_await store_->correct_goodie(twice.psid, false);
        if (i == 2) co_return co_await store_->correct_goodie(twice.psid, true);
        if (i == 3) co_return co_await store_->correct_goodie(paid.psid, false);
        co_return co_await store_->finish_gate(paid.psid, "PAID");
    });
    for (const Status& status : results) EXPECT_TRUE(status.ok());
    EXPECT_LE(batch_sizes("sessions")->count() - batches_before, 2u);
    EXPECT_FALSE(find(paid.psid).has_value());
    const auto found = find(twice.psid);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->psid, twice.psid);
}

TEST_F(PgSessionStoreTest, RecentListsNewestFirstWithTheTotal) {
    const std::int64_t now_us = unix_now_us();
    std::vector<PaymentSession> sessions;
    for (int i = 0; i < 5; i++) sessions.push_back(make_session(now_us + i * 1000));
    const auto saved = run_concurrently<Status>(
        sessions.size(), [&](std::size_t i) { return store_->save(sessions[i], session_ttl_s); });
    for (const Status& status : saved) EXPECT_TRUE(status.ok());
    const auto recent = run([&] { return store_->recent(3); });
    ASSERT_TRUE(recent.ok());
    EXPECT_EQ(recent->total, 5u);
    ASSERT_EQ(recent->sessions.size(), 3u);
    EXPECT_EQ(recent->sessions[0].psid, sessions[4].psid);
    EXPECT_EQ(recent->sessions[1].psid, sessions[3].psid);
    EXPECT_EQ(recent->sessions[2].psid, sessions[2].psid);
}

// Concurrent saves, finds and gates share transactions, and each caller gets its own answer.
TEST_F(PgSessionStoreTest, ConcurrentCallsAreBatchedAndAnsweredPerCaller) {
    const std::size_t session_count = testing::test_ops(3000);
    std::vector<PaymentSession> sessions;
    std::vector<std::string> events;
    for (std::size_t i = 0; i < session_count; i++) {
        sessions.push_back(make_session(unix_now_us()));
        events.push_back(new_event_key());
    }
    const auto started = std::chrono::steady_clock::now();
    const auto saved = run_concurrently<Status>(
        session_count, [&](std::size_t i) { return store_->save(sessions[i], session_ttl_s); });
    const auto found = run_concurrently<Result<std::optional<PaymentSession>>>(
        session_count, [&](std::size_t i) { return store_->find(sessions[i].psid); });
    const auto gates = run_concurrently<Result<GateAnswer>>(session_count, [&](std::size_t i) {
        return store_->take_lease(sessions[i].psid, events[i], 5'000, false);
    });
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    for (std::size_t i = 0; i < session_count; i++) {
        EXPECT_TRUE(saved[i].ok());
        ASSERT_TRUE(found[i].ok() && found[i]->has_value());
        EXPECT_EQ((*found[i])->order_id, sessions[i].order_id);
        ASSERT_TRUE(gates[i].ok());
        EXPECT_EQ(gates[i]->state, GateState::leased);
    }
    EXPECT_LT(batch_sizes("sessions")->count(), session_count);
    std::printf("[ measure  ] %zu sessions saved, found and gated: %.0f calls/s\n", session_count,
                static_cast<double>(3 * session_count) / elapsed.count());
}

// A live lease answers busy to every other delivery; only finish_gate makes it done, with the
// order's status; the refused calls write nothing.
TEST_F(PgSessionStoreTest, TheGateIsALeaseUntilFinishedThenDoneWithTheStatus) {
    const std::string psid = new_payment_session_id();
    EXPECT_EQ(take_lease(*store_, psid).state, GateState::leased);
    EXPECT_EQ(take_lease(*store_, psid).state, GateState::busy);
    EXPECT_EQ(take_lease(*store_, new_payment_session_id()).state, GateState::leased);
    EXPECT_EQ(rows("webhook_leases"), 2u);
    ASSERT_TRUE(run([&] { return store_->finish_gate(psid, "CANCELED"); }).ok());
    const GateAnswer replay = take_lease(*store_, psid);
    EXPECT_EQ(replay.state, GateState::done);
    EXPECT_EQ(replay.done_status, "CANCELED");
}

// Many deliveries of one session at once, through two stores (two processes): one lease.
TEST_F(PgSessionStoreTest, ManyConcurrentDeliveriesLetExactlyOneTakeTheLease) {
    SessionStore& other = open_store();
    constexpr std::size_t call_count = 200;
    const std::string psid = new_payment_session_id();
    std::vector<std::string> tokens;
    for (std::size_t i = 0; i < call_count; i++) tokens.push_back(new_lease_token());
    const auto gates = run_concurrently<Result<GateAnswer>>(call_count, [&](std::size_t i) {
        return (i % 2 == 0 ? *store_ : other).take_lease(psid, tokens[i], 5'000, false);
    });
    std::size_t leased = 0;
    for (const auto& gate : gates) {
        ASSERT_TRUE(gate.ok());
        leased += gate->state == GateState::leased;
        if (gate->state != GateState::leased) {
            EXPECT_EQ(gate->state, GateState::busy);
        }
    }
    EXPECT_EQ(leased, 1u);
}

// Only the holder's token releases a lease; after the release the retry takes it at once.
TEST_F(PgSessionStoreTest, OnlyTheLeaseHolderCanReleaseIt) {
    const std::string psid = new_payment_session_id();
    const std::string token = new_lease_token();
    ASSERT_EQ(run([&] { return store_->take_lease(psid, token, 5'000, false); })->state,
              GateState::leased);
    const std::string stranger = new_lease_token();
    EXPECT_TRUE(run([&] { return store_->release_lease(psid, stranger); }).ok());
    EXPECT_EQ(take_lease(*store_, psid).state, GateState::busy);
    EXPECT_TRUE(run([&] { return store_->release_lease(psid, token); }).ok());
    EXPECT_EQ(take_lease(*store_, psid).state, GateState::leased);
}

// An expired lease (its holder died) is taken over; an expired done mark counts as absent;
// expired rows are cleaned up by any batch.
TEST_F(PgSessionStoreTest, ExpiredLeasesAreTakenOverAndCleanedUp) {
    const std::string psid = new_payment_session_id();
    ASSERT_EQ(take_lease(*store_, psid, 50, false).state, GateState::leased);
    expire_gates();
    EXPECT_EQ(take_lease(*store_, psid).state, GateState::leased);
    EXPECT_EQ(take_lease(*store_, psid).state, GateState::busy);
    expire_gates();
    EXPECT_FALSE(find(psid).has_value());  // Any batch deletes expired rows.
    EXPECT_EQ(rows("webhook_leases"), 0u);
}

// An unpaid done mark answers replays of failures but lets a payment take the lease; a paid
// mark is never replaced by an unpaid one.
TEST_F(PgSessionStoreTest, AnUnpaidMarkLetsAPaymentThroughAndAPaidMarkStays) {
    const std::string psid = new_payment_session_id();
    ASSERT_TRUE(run([&] { return store_->finish_gate(psid, "FAILED"); }).ok());
    EXPECT_EQ(take_lease(*store_, psid, 5'000, false).state, GateState::done);
    EXPECT_EQ(take_lease(*store_, psid, 5'000, true).state, GateState::leased);
    ASSERT_TRUE(run([&] { return store_->finish_gate(psid, "PAID_UNFULFILLED"); }).ok());
    ASSERT_TRUE(run([&] { return store_->finish_gate(psid, "CANCELED"); }).ok());
    const GateAnswer paid = take_lease(*store_, psid, 5'000, true);
    EXPECT_EQ(paid.state, GateState::done);
    EXPECT_EQ(paid.done_status, "PAID_UNFULFILLED");
}

// Taking the lease keeps the session for the done mark's lifetime, so a delivery that dies
// holding it leaves a session its retry still finds, however late the retry comes.
TEST_F(PgSessionStoreTest, TakingTheLeaseKeepsTheSession) {
    const PaymentSession session = make_session(unix_now_us());
    save(session);
    ASSERT_EQ(take_lease(*store_, session.psid).state, GateState::leased);
    EXPECT_GT(seconds_left(session.psid),
              static_cast<std::int64_t>(limits::webhook_done_ttl_s) - 60);
}

// Keys PostgreSQL cannot hold (invalid UTF-8) are simply unknown and fail no one else's call.
TEST_F(PgSessionStoreTest, AKeyThatCannotBeStoredIsUnknownAndHarmsNoBatch) {
    const PaymentSession session = make_session(unix_now_us());
    save(session);
    const std::string bad = "mock_\xff\xfe";
    const auto found = run_concurrently<Result<std::optional<PaymentSession>>>(
        2, [&](std::size_t i) { return store_->find(i == 0 ? bad : session.psid); });
    ASSERT_TRUE(found[0].ok() && found[1].ok());
    EXPECT_FALSE(found[0]->has_value());
    EXPECT_TRUE(found[1]->has_value());
    EXPECT_TRUE(run([&] { return store_->remove(bad); }).ok());
}

// A claimed key answers busy with its fingerprint; once finished, done with the answer; only
// the claim's holder finishes or releases it.
TEST_F(PgSessionStoreTest, AClaimedKeyIsBusyUntilFinishedThenAnswersTheStoredAnswer) {
    const KeyClaim first = key_claim("key-1", "f1");
    const KeyClaim second = key_claim("key-1", "f2");
    EXPECT_EQ(claim_key(*store_, first, 5'000).state, KeyState::claimed);
    const KeyAnswer busy = claim_key(*store_, second, 5'000);
    EXPECT_EQ(busy.state, KeyState::busy);
    EXPECT_EQ(busy.fingerprint, "f1");
    ASSERT_TRUE(run([&] { return store_->finish_key(second, 200, "{}", 3'600); }).ok());
    ASSERT_TRUE(run([&] { return store_->release_key(second); }).ok());
    EXPECT_EQ(claim_key(*store_, second, 5'000).state, KeyState::busy);
    const std::string body = R"({"detail":"it's \"quoted\""})";
    ASSERT_TRUE(run([&] { return store_->finish_key(first, 409, body, 3'600); }).ok());
    ASSERT_TRUE(run([&] { return store_->release_key(first); }).ok());
    const KeyAnswer done = claim_key(*store_, second, 5'000);
    EXPECT_EQ(done.state, KeyState::done);
    EXPECT_EQ(done.fingerprint, "f1");
    EXPECT_EQ(done.status, 409u);
    EXPECT_EQ(done.body, body);
    EXPECT_GT(query_value<std::int64_t>(
                  "SELECT extract(epoch FROM expires_at - now())::bigint FROM checkout_keys"),
              3'590);
}

// A released claim lets the retry claim the key at once; an expired one (its holder died)
// too; expired rows are cleaned up by any batch.
TEST_F(PgSessionStoreTest, ReleasedAndExpiredClaimsLetTheRetryThrough) {
    const KeyClaim first = key_claim("key-2", "f1");
    EXPECT_EQ(claim_key(*store_, first, 5'000).state, KeyState::claimed);
    ASSERT_TRUE(run([&] { return store_->release_key(first); }).ok());
    const KeyClaim dead = key_claim("key-2", "f1");
    EXPECT_EQ(claim_key(*store_, dead, 5'000).state, KeyState::claimed);
    EXPECT_EQ(claim_key(*store_, key_claim("key-2", "f1"), 5'000).state, KeyState::busy);
    pqxx::connection connection(database_url_);
    pqxx::nontransaction(connection)
        .exec("UPDATE checkout_keys SET expires_at = now() - interval '1 second'");
    const KeyClaim retry = key_claim("key-2", "f1");
    EXPECT_EQ(claim_key(*store_, retry, 5'000).state, KeyState::claimed);
    ASSERT_TRUE(run([&] { return store_->finish_key(dead, 200, "{}", 60); }).ok());
    EXPECT_EQ(claim_key(*store_, key_claim("key-2", "f1"), 5'000).state, KeyState::busy);
    pqxx::nontransaction(connection)
        .exec("UPDATE checkout_keys SET expires_at = now() - interval '1 second'");
    EXPECT_FALSE(find("no-such-session").has_value());  // Any batch deletes expired rows.
    EXPECT_EQ(rows("checkout_keys"), 0u);
}

// Many concurrent claims of one key, through two stores (two processes): one succeeds.
TEST_F(PgSessionStoreTest, OfManyConcurrentClaimsOfOneKeyExactlyOneSucceeds) {
    SessionStore& other = open_store();
    constexpr std::size_t call_count = 200;
    std::vector<KeyClaim> claims;
    for (std::size_t i = 0; i < call_count; i++) claims.push_back(key_claim("key-3", "f1"));
    const auto answers = run_concurrently<Result<KeyAnswer>>(call_count, [&](std::size_t i) {
        return (i % 2 == 0 ? *store_ : other).claim_key(claims[i], 5'000);
    });
    std::size_t claimed = 0;
    for (const auto& answer : answers) {
        ASSERT_TRUE(answer.ok());
        claimed += answer->state == KeyState::claimed;
        if (answer->state != KeyState::claimed) {
            EXPECT_EQ(answer->state, KeyState::busy);
        }
    }
    EXPECT_EQ(claimed, 1u);
}

// Ticket slots of an email: up to the limit, a held one stops counting when its time is up, a
// paid one keeps counting, a freed one counts no more; expired rows are cleaned up.
TEST_F(PgSessionStoreTest, EmailSlotsHoldTheLimitAndEndAsSettled) {
    EXPECT_TRUE(claim(*store_, "order-1", 2));
    EXPECT_TRUE(claim(*store_, "order-1", 2));  // Already the order's.
    EXPECT_TRUE(claim(*store_, "order-2", 2));
    EXPECT_FALSE(claim(*store_, "order-3", 2));
    settle("order-2", false);  // A failed payment frees its slot.
    EXPECT_TRUE(claim(*store_, "order-3", 2));
    settle("order-1", true);  // Paid: counts for good.
    expire_held_slots();
    EXPECT_TRUE(claim(*store_, "order-4", 2));
    EXPECT_FALSE(claim(*store_, "order-5", 2));
    expire_held_slots();
    EXPECT_TRUE(claim(*store_, "order-5", 2));  // Its batch deleted the expired rows too.
    EXPECT_EQ(rows("email_slots"), 2u);
}

// A slot freed after it was paid (a checkout that failed after a payment of its session
// came early) still counts.
TEST_F(PgSessionStoreTest, APaidSlotIsNeverFreed) {
    EXPECT_TRUE(claim(*store_, "order-1", 1));
    settle("order-1", true);
    settle("order-1", false);
    EXPECT_FALSE(claim(*store_, "order-2", 1));
}

// A paid order whose slot's time ran out (a late payment) or that a failure freed counts again.
TEST_F(PgSessionStoreTest, APaymentAfterTheSlotEndedCountsAgain) {
    EXPECT_TRUE(claim(*store_, "order-1", 1));
    settle("order-1", false);
    settle("order-1", true);
    EXPECT_FALSE(claim(*store_, "order-2", 1));
}

// Many checkouts of one email at once, through two stores (two processes), with the limit at
// 3: exactly 3 get a slot.
TEST_F(PgSessionStoreTest, ManyConcurrentClaimsOfOneEmailTakeExactlyTheLimit) {
    SessionStore& other = open_store();
    constexpr std::size_t call_count = 200;
    constexpr std::uint32_t limit = 3;
    std::vector<std::string> order_ids;
    for (std::size_t i = 0; i < call_count; i++) order_ids.push_back(order_id_from(ids_.next()));
    const auto claims = run_concurrently<Result<bool>>(call_count, [&](std::size_t i) {
        SessionStore& store = i % 2 == 0 ? *store_ : other;
        return store.claim_email_slot(slot_email, order_ids[i], 60'000, limit);
    });
    std::size_t claimed = 0;
    for (const auto& claim : claims) {
        ASSERT_TRUE(claim.ok());
        claimed += *claim ? 1 : 0;
    }
    EXPECT_EQ(claimed, limit);
    EXPECT_EQ(rows("email_slots"), limit);
}

}  // namespace
}  // namespace tigerfans::sessions

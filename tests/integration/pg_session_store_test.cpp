// The PostgreSQL payment-session store against a real database: sessions round-trip and
// expire, removal and listings work, and the webhook gate lets exactly one of many identical
// concurrent calls through (within one store and across two, as across server processes).
#include <pqxx/pqxx>

#include "pg_test_helpers.hpp"
#include "support/session_expectations.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/sessions/postgres.hpp"

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

    Gate pass_gate(SessionStore& store, const std::string& psid, const std::string& event) {
        auto gate = run([&] { return store.pass_gate(psid, event); });
        EXPECT_TRUE(gate.ok());
        return gate.ok() ? *gate : Gate::replay;
    }

    std::size_t rows(const char* table) {
        pqxx::connection connection(database_url_);
        pqxx::nontransaction query(connection);
        return query.exec(std::string("SELECT count(*) FROM ") + table)[0][0].as<std::size_t>();
    }

    // Moves every gate key's expiry into the past, as if its TTL had run out.
    void expire_gate_keys() {
        pqxx::connection connection(database_url_);
        pqxx::nontransaction command(connection);
        command.exec("UPDATE webhook_gates SET expires_at = now() - interval '1 second'");
    }

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
    sleep_for(std::chrono::milliseconds(1200));
    const auto found = find(session.psid);
    ASSERT_TRUE(found.has_value());
    testing::expect_same_session(*found, session);
}

TEST_F(PgSessionStoreTest, AnExpiredSessionIsNotFoundAndIsCleanedUp) {
    const PaymentSession session = make_session(unix_now_us());
    save(session, 1);
    ASSERT_TRUE(find(session.psid).has_value());
    sleep_for(std::chrono::milliseconds(1200));
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

TEST_F(PgSessionStoreTest, RecentListsNewestFirstWithTheTotal) {
    const std::int64_t now_us = unix_now_us();
    std::vector<PaymentSession> sessions;
    for (int i = 0; i < 5; i++) sessions.push_back(make_session(now_us + i * 1000));
    const auto saved = run_concurrently<Status>(sessions.size(), [&](std::size_t i) {
        return store_->save(sessions[i], session_ttl_s);
    });
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
    const auto saved = run_concurrently<Status>(session_count, [&](std::size_t i) {
        return store_->save(sessions[i], session_ttl_s);
    });
    const auto found = run_concurrently<Result<std::optional<PaymentSession>>>(
        session_count, [&](std::size_t i) { return store_->find(sessions[i].psid); });
    const auto gates = run_concurrently<Result<Gate>>(session_count, [&](std::size_t i) {
        return store_->pass_gate(sessions[i].psid, events[i]);
    });
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    for (std::size_t i = 0; i < session_count; i++) {
        EXPECT_TRUE(saved[i].ok());
        ASSERT_TRUE(found[i].ok() && found[i]->has_value());
        EXPECT_EQ((*found[i])->order_id, sessions[i].order_id);
        ASSERT_TRUE(gates[i].ok());
        EXPECT_EQ(*gates[i], Gate::first);
    }
    EXPECT_LT(batch_sizes("sessions")->count(), session_count);
    std::printf("[ measure  ] %zu sessions saved, found and gated: %.0f calls/s\n",
                session_count, static_cast<double>(3 * session_count) / elapsed.count());
}

// A fulfilled session answers replay to any event; a seen event answers replay for any session.
TEST_F(PgSessionStoreTest, TheGateOpensOncePerSessionAndPerEvent) {
    const std::string psid = new_payment_session_id();
    const std::string event = new_event_key();
    EXPECT_EQ(pass_gate(*store_, psid, event), Gate::first);
    EXPECT_EQ(pass_gate(*store_, psid, event), Gate::replay);
    EXPECT_EQ(pass_gate(*store_, psid, new_event_key()), Gate::replay);
    EXPECT_EQ(pass_gate(*store_, new_payment_session_id(), event), Gate::replay);
    // The refused calls set nothing: only the first call's two keys exist.
    EXPECT_EQ(rows("webhook_gates"), 2u);
}

// Many identical webhook deliveries at once, through two stores (two processes): one first.
TEST_F(PgSessionStoreTest, ManyConcurrentIdenticalGateCallsLetExactlyOneThrough) {
    SessionStore& other = open_store();
    constexpr std::size_t call_count = 200;
    const std::string psid = new_payment_session_id();
    const std::string event = new_event_key();
    const auto gates = run_concurrently<Result<Gate>>(call_count, [&](std::size_t i) {
        return (i % 2 == 0 ? *store_ : other).pass_gate(psid, event);
    });
    std::size_t first = 0;
    for (const auto& gate : gates) {
        ASSERT_TRUE(gate.ok());
        first += *gate == Gate::first;
    }
    EXPECT_EQ(first, 1u);
}

// After a failed processing the gate reopens, so the provider's retry is processed.
TEST_F(PgSessionStoreTest, AReopenedGateLetsTheRetryThrough) {
    const std::string psid = new_payment_session_id();
    const std::string event = new_event_key();
    ASSERT_EQ(pass_gate(*store_, psid, event), Gate::first);
    EXPECT_TRUE(run([&] { return store_->reopen_gate(psid, event); }).ok());
    EXPECT_EQ(pass_gate(*store_, psid, event), Gate::first);
    EXPECT_EQ(pass_gate(*store_, psid, event), Gate::replay);
}

// Gate keys live 24 h and 1 h; once expired they count as absent and are cleaned up.
TEST_F(PgSessionStoreTest, ExpiredGateKeysCountAsAbsentAndAreCleanedUp) {
    const std::string psid = new_payment_session_id();
    const std::string event = new_event_key();
    ASSERT_EQ(pass_gate(*store_, psid, event), Gate::first);
    expire_gate_keys();
    EXPECT_EQ(pass_gate(*store_, psid, event), Gate::first);
    EXPECT_EQ(pass_gate(*store_, psid, event), Gate::replay);
    expire_gate_keys();
    EXPECT_FALSE(find(psid).has_value());  // Any batch deletes expired rows.
    EXPECT_EQ(rows("webhook_gates"), 0u);
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

}  // namespace
}  // namespace tigerfans::sessions

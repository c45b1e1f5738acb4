// The Redis session store against a real redis-server: sessions with their TTLs and pending
// index, the webhook gate under concurrent replays, pipelining of thousands of concurrent
// calls, and both REDIS_URL transports. What Redis holds is checked with raw commands on the
// harness' own connection, not through the store.
#include <gtest/gtest.h>

#include <stdexcept>

#include "redis_store_fixture.hpp"
#include "sessions/redis/codec.hpp"
#include "sessions/redis/store.hpp"
#include "support/session_expectations.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::sessions::redis {
namespace {

constexpr std::int64_t base_time_us = 1'700'000'000'000'000;

using SessionStoreTest = RedisStoreTest;

// True once Redis has let `key` expire; false if it has not within the call deadline.
bool expires(const testing::RedisServer& server, asio::io_context& io, const std::string& key) {
    return run_until(
        io, [&] { return server.command("EXISTS " + key) == ":0\r\n"; }, call_deadline_ms);
}

std::vector<std::string> psids_of(const PendingList& list) {
    std::vector<std::string> psids;
    for (const PaymentSession& session : list.sessions) psids.push_back(session.psid);
    return psids;
}

// Store calls take references and string_views and start lazily, so every session saved below
// is a named local that outlives the call.

// A saved session comes back field for field, with its TTL set and an entry in the index.
TEST_F(SessionStoreTest, SavesAndFindsASessionWithItsTtlAndIndexEntry) {
    open();
    const PaymentSession saved = numbered_session(7, base_time_us);
    ASSERT_TRUE(run_async([&] { return store_->save(saved, 360); }).ok());
    Result<std::optional<PaymentSession>> found = run_async([&] { return store_->find("ps-7"); });
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found->has_value());
    testing::expect_same_session(**found, saved);
    const std::optional<long long> ttl_s = raw_integer(server_.command("TTL ps:ps-7"));
    ASSERT_TRUE(ttl_s.has_value());
    EXPECT_GT(*ttl_s, 355);
    EXPECT_LE(*ttl_s, 360);
    EXPECT_EQ(server_.command("ZSCORE pendings ps-7"), "$16\r\n1700000000000000\r\n");
}

// An unknown psid is "not found", not an error.
TEST_F(SessionStoreTest, FindsNothingForAnUnknownSession) {
    open();
    Result<std::optional<PaymentSession>> found = run_async([&] { return store_->find("nope"); });
    ASSERT_TRUE(found.ok());
    EXPECT_FALSE(found->has_value());
}

// remove() deletes the hash and the index entry in one go, without a transaction.
TEST_F(SessionStoreTest, RemovesTheSessionAndItsIndexEntry) {
    open();
    const PaymentSession session = numbered_session(1, base_time_us);
    ASSERT_TRUE(run_async([&] { return store_->save(session, 60); }).ok());
    ASSERT_EQ(server_.command("CONFIG RESETSTAT"), "+OK\r\n");
    ASSERT_TRUE(run_async([&] { return store_->remove("ps-1"); }).ok());
    EXPECT_EQ(server_.command("INFO commandstats").find("cmdstat_multi"), std::string::npos);
    Result<std::optional<PaymentSession>> found = run_async([&] { return store_->find("ps-1"); });
    ASSERT_TRUE(found.ok());
    EXPECT_FALSE(found->has_value());
    EXPECT_EQ(server_.command("EXISTS ps:ps-1"), ":0\r\n");
    EXPECT_EQ(server_.command("ZCARD pendings"), ":0\r\n");
}

// A session is gone once its TTL passed.
TEST_F(SessionStoreTest, ForgetsASessionWhenItsTtlPasses) {
    open();
    const PaymentSession session = numbered_session(2, base_time_us);
    ASSERT_TRUE(run_async([&] { return store_->save(session, 1); }).ok());
    ASSERT_TRUE(run_async([&] { return store_->find("ps-2"); })->has_value());
    const std::optional<long long> ttl_ms = raw_integer(server_.command("PTTL ps:ps-2"));
    ASSERT_TRUE(ttl_ms.has_value());
    EXPECT_GT(*ttl_ms, 0);
    EXPECT_LE(*ttl_ms, 1'000);
    ASSERT_TRUE(expires(server_, io_, "ps:ps-2"));
    Result<std::optional<PaymentSession>> found = run_async([&] { return store_->find("ps-2"); });
    ASSERT_TRUE(found.ok());
    EXPECT_FALSE(found->has_value());
}

// recent() lists the newest sessions first, up to the limit, with the index size as total.
TEST_F(SessionStoreTest, ListsRecentSessionsNewestFirstUpToTheLimit) {
    open();
    for (int n = 1; n <= 5; n++) {
        const PaymentSession session = numbered_session(n, base_time_us + n);
        ASSERT_TRUE(run_async([&] { return store_->save(session, 300); }).ok());
    }
    Result<PendingList> listed = run_async([&] { return store_->recent(3); });
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->total, 5u);
    EXPECT_EQ(psids_of(*listed), (std::vector<std::string>{"ps-5", "ps-4", "ps-3"}));
    testing::expect_same_session(listed->sessions.front(), numbered_session(5, base_time_us + 5));
    Result<PendingList> counted = run_async([&] { return store_->recent(0); });
    ASSERT_TRUE(counted.ok());
    EXPECT_EQ(counted->total, 5u);
    EXPECT_TRUE(counted->sessions.empty());
}

// recent() skips index entries whose session expired and removes them from the index.
TEST_F(SessionStoreTest, SkipsAndCleansExpiredSessionsInRecent) {
    open();
    const PaymentSession short_lived = numbered_session(1, base_time_us + 3);
    ASSERT_TRUE(run_async([&] { return store_->save(short_lived, 1); }).ok());
    for (int n = 2; n <= 3; n++) {
        const PaymentSession session = numbered_session(n, base_time_us + n - 2);
        ASSERT_TRUE(run_async([&] { return store_->save(session, 300); }).ok());
    }
    ASSERT_TRUE(expires(server_, io_, "ps:ps-1"));
    Result<PendingList> listed = run_async([&] { return store_->recent(10); });
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(psids_of(*listed), (std::vector<std::string>{"ps-3", "ps-2"}));
    EXPECT_EQ(listed->total, 2u);
    EXPECT_EQ(server_.command("ZSCORE pendings ps-1"), "$-1\r\n");
}

// Saving trims index entries older than a full TTL before the new session: they expired.
TEST_F(SessionStoreTest, TrimsIndexEntriesOlderThanATtlWhenSaving) {
    open();
    constexpr std::uint32_t ttl_s = 300;
    const std::int64_t ttl_us = std::int64_t{ttl_s} * 1'000'000;
    const std::vector<PaymentSession> sessions = {numbered_session(1, base_time_us),
                                                  numbered_session(2, base_time_us + ttl_us),
                                                  numbered_session(3, base_time_us + ttl_us + 1)};
    ASSERT_TRUE(run_async([&] { return store_->save(sessions[0], ttl_s); }).ok());
    ASSERT_TRUE(run_async([&] { return store_->save(sessions[1], ttl_s); }).ok());
    EXPECT_EQ(server_.command("ZCARD pendings"), ":2\r\n");  // Exactly one TTL apart: kept.
    ASSERT_TRUE(run_async([&] { return store_->save(sessions[2], ttl_s); }).ok());
    EXPECT_EQ(server_.command("ZSCORE pendings ps-1"), "$-1\r\n");
    EXPECT_EQ(server_.command("ZCARD pendings"), ":2\r\n");
}

// Many deliveries of one session at once: exactly one takes the lease, which expires by itself
// after the lease time; the others are told it is busy.
TEST_F(SessionStoreTest, LetsExactlyOneOfManyConcurrentDeliveriesTakeTheLease) {
    open();
    constexpr std::size_t deliveries = 500;
    std::vector<std::string> tokens;  // Outlive the calls: they take views.
    for (std::size_t i = 0; i < deliveries; i++) tokens.push_back("lease-" + std::to_string(i));
    auto outcomes = run_concurrently(io_, deliveries, [&](std::size_t i) {
        return store_->take_lease("ps-9", tokens[i], 5'000, false);
    });
    std::size_t leased = 0;
    for (const auto& result : outcomes.results) {
        ASSERT_TRUE(result.has_value() && result->ok());
        if ((*result)->state == GateState::leased) leased++;
        if ((*result)->state != GateState::leased) {
            EXPECT_EQ((*result)->state, GateState::busy);
        }
    }
    EXPECT_EQ(leased, 1u);
    const auto lease_ms = raw_integer(server_.command("PTTL gate:ps-9"));
    ASSERT_TRUE(lease_ms);
    EXPECT_GT(*lease_ms, 4'000);
    EXPECT_LE(*lease_ms, 5'000);
}

// Done only after finish_gate, with the order's status and the done mark's lifetime; every
// later delivery is told so and changes nothing.
TEST_F(SessionStoreTest, AFinishedGateAnswersDoneWithTheOrderStatus) {
    open();
    ASSERT_EQ(run_async([&] { return store_->take_lease("ps-1", "lease-a", 5'000, false); })->state,
              GateState::leased);
    ASSERT_TRUE(run_async([&] { return store_->finish_gate("ps-1", "PAID_UNFULFILLED"); }).ok());
    const auto replay =
        run_async([&] { return store_->take_lease("ps-1", "lease-b", 5'000, false); });
    ASSERT_TRUE(replay.ok());
    EXPECT_EQ(replay->state, GateState::done);
    EXPECT_EQ(replay->done_status, "PAID_UNFULFILLED");
    EXPECT_EQ(server_.command("GET gate:ps-1"), "$21\r\ndone:PAID_UNFULFILLED\r\n");
    const auto done_ttl_s = raw_integer(server_.command("TTL gate:ps-1"));
    ASSERT_TRUE(done_ttl_s);
    EXPECT_GT(*done_ttl_s, limits::webhook_done_ttl_s - 10);
    // Releasing a lease never undoes a done mark.
    ASSERT_TRUE(run_async([&] { return store_->release_lease("ps-1", "lease-a"); }).ok());
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-1", "lease-c", 5'000, false); })->state,
              GateState::done);
}

// The done mark drops the session in the same round trip: a paid order's session and index
// entry go in one transaction with the mark; an unpaid one's session stays, off the index (a
// payment may still follow), also when Redis forgot the gate script.
TEST_F(SessionStoreTest, FinishingTheGateDropsTheSession) {
    open();
    const PaymentSession paid = numbered_session(21, base_time_us);
    const PaymentSession failed = numbered_session(22, base_time_us + 1);
    const PaymentSession canceled = numbered_session(23, base_time_us + 2);
    for (const PaymentSession* session : {&paid, &failed, &canceled}) {
        ASSERT_TRUE(run_async([&] { return store_->save(*session, 300); }).ok());
    }
    ASSERT_TRUE(run_async([&] { return store_->finish_gate(paid.psid, "PAID"); }).ok());
    EXPECT_EQ(server_.command("EXISTS ps:ps-21"), ":0\r\n");
    EXPECT_EQ(server_.command("GET gate:ps-21"), "$9\r\ndone:PAID\r\n");
    ASSERT_TRUE(run_async([&] { return store_->finish_gate(failed.psid, "FAILED"); }).ok());
    EXPECT_EQ(server_.command("GET gate:ps-22"), "$11\r\ndone:FAILED\r\n");
    ASSERT_EQ(server_.command("SCRIPT FLUSH"), "+OK\r\n");
    ASSERT_TRUE(run_async([&] { return store_->finish_gate(canceled.psid, "CANCELED"); }).ok());
    EXPECT_EQ(server_.command("GET gate:ps-23"), "$13\r\ndone:CANCELED\r\n");
    for (const PaymentSession* session : {&failed, &canceled}) {
        const auto found = run_async([&] { return store_->find(session->psid); });
        ASSERT_TRUE(found.ok());
        EXPECT_TRUE(found->has_value()) << session->psid;
    }
    EXPECT_EQ(server_.command("ZCARD pendings"), ":0\r\n");
    Result<PendingList> listed = run_async([&] { return store_->recent(10); });
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->total, 0u);
    EXPECT_TRUE(listed->sessions.empty());
}

// Checkout's correction of the goodie changes that field alone and only of a session that
// exists: a paid order's dropped session stays gone, an unpaid one's stays off the index, the
// TTL stays; also when Redis forgot the script.
TEST_F(SessionStoreTest, CorrectingTheGoodieNeverBringsADroppedSessionBack) {
    open();
    const PaymentSession listed = numbered_session(31, base_time_us);
    const PaymentSession canceled = numbered_session(32, base_time_us + 1);
    const PaymentSession paid = numbered_session(33, base_time_us + 2);
    for (const PaymentSession* session : {&listed, &canceled, &paid}) {
        ASSERT_TRUE(run_async([&] { return store_->save(*session, 300); }).ok());
    }
    ASSERT_TRUE(run_async([&] { return store_->finish_gate(canceled.psid, "CANCELED"); }).ok());
    ASSERT_TRUE(run_async([&] { return store_->finish_gate(paid.psid, "PAID"); }).ok());

    for (const PaymentSession* session : {&listed, &canceled, &paid}) {
        const bool corrected = !session->goodie_held;
        ASSERT_TRUE(
            run_async([&] { return store_->correct_goodie(session->psid, corrected); }).ok());
        ASSERT_EQ(server_.command("SCRIPT FLUSH"), "+OK\r\n");
    }
    for (const PaymentSession* session : {&listed, &canceled}) {
        const auto found = run_async([&] { return store_->find(session->psid); });
        ASSERT_TRUE(found.ok());
        ASSERT_TRUE(found->has_value()) << session->psid;
        PaymentSession expected = *session;
        expected.goodie_held = !session->goodie_held;
        testing::expect_same_session(**found, expected);
        const auto ttl_s = raw_integer(server_.command("TTL " + session_key(session->psid)));
        ASSERT_TRUE(ttl_s);
        EXPECT_GT(*ttl_s, 0);
        EXPECT_LE(*ttl_s, 300);
    }
    EXPECT_EQ(server_.command("EXISTS ps:ps-33"), ":0\r\n");
    EXPECT_EQ(server_.command("ZSCORE pendings ps-32"), "$-1\r\n");
    EXPECT_EQ(server_.command("ZCARD pendings"), ":1\r\n");
}

// A released lease lets the retry through at once; releasing with another delivery's token
// (its lease expired and was taken over) leaves the new holder's lease alone.
TEST_F(SessionStoreTest, OnlyTheLeaseHolderCanReleaseIt) {
    open();
    ASSERT_EQ(run_async([&] { return store_->take_lease("ps-3", "lease-a", 5'000, false); })->state,
              GateState::leased);
    ASSERT_TRUE(run_async([&] { return store_->release_lease("ps-3", "lease-x"); }).ok());
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-3", "lease-b", 5'000, false); })->state,
              GateState::busy);
    ASSERT_TRUE(run_async([&] { return store_->release_lease("ps-3", "lease-a"); }).ok());
    EXPECT_EQ(server_.command("EXISTS gate:ps-3"), ":0\r\n");
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-3", "lease-b", 5'000, false); })->state,
              GateState::leased);
}

// A lease whose holder died frees itself: the next delivery takes it over.
TEST_F(SessionStoreTest, AnExpiredLeaseIsTakenOver) {
    open();
    ASSERT_EQ(run_async([&] { return store_->take_lease("ps-4", "lease-a", 1'000, false); })->state,
              GateState::leased);
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-4", "lease-b", 5'000, false); })->state,
              GateState::busy);
    EXPECT_TRUE(run_until(
        io_, [&] { return server_.command("EXISTS gate:ps-4") == ":0\r\n"; }, 5'000ms));
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-4", "lease-b", 5'000, false); })->state,
              GateState::leased);
}

// An unpaid done mark answers replays of failures but lets a payment take the lease; a paid
// mark is never replaced by an unpaid one.
TEST_F(SessionStoreTest, AnUnpaidMarkLetsAPaymentThroughAndAPaidMarkStays) {
    open();
    ASSERT_TRUE(run_async([&] { return store_->finish_gate("ps-5", "CANCELED"); }).ok());
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-5", "lease-a", 5'000, false); })->state,
              GateState::done);
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-5", "lease-b", 5'000, true); })->state,
              GateState::leased);
    ASSERT_TRUE(run_async([&] { return store_->finish_gate("ps-5", "PAID"); }).ok());
    ASSERT_TRUE(run_async([&] { return store_->finish_gate("ps-5", "FAILED"); }).ok());
    EXPECT_EQ(server_.command("GET gate:ps-5"), "$9\r\ndone:PAID\r\n");
}

// Taking the lease keeps the session for the done mark's lifetime, so a delivery that dies
// holding it leaves a session its retry still finds, however late the retry comes.
TEST_F(SessionStoreTest, TakingTheLeaseKeepsTheSession) {
    open();
    const PaymentSession session = numbered_session(6, base_time_us);
    ASSERT_TRUE(run_async([&] { return store_->save(session, 60); }).ok());
    ASSERT_EQ(
        run_async([&] { return store_->take_lease(session.psid, "lease-a", 5'000, true); })->state,
        GateState::leased);
    const auto kept_s = raw_integer(server_.command("TTL ps:" + session.psid));
    ASSERT_TRUE(kept_s);
    EXPECT_GT(*kept_s, limits::webhook_done_ttl_s - 60);
}

// The session keep never shortens a longer life (a reservation TTL of days), whichever way the
// lease is taken: by the plain commands on a free gate, or by the script over an unpaid mark.
TEST_F(SessionStoreTest, TakingTheLeaseNeverShortensALongerSessionLife) {
    open();
    constexpr std::uint32_t week_s = 7 * 24 * 3600;
    const PaymentSession free_gate = numbered_session(11, base_time_us);
    const PaymentSession unpaid_mark = numbered_session(12, base_time_us);
    ASSERT_TRUE(run_async([&] { return store_->save(free_gate, week_s); }).ok());
    ASSERT_TRUE(run_async([&] { return store_->save(unpaid_mark, week_s); }).ok());
    ASSERT_TRUE(run_async([&] { return store_->finish_gate(unpaid_mark.psid, "FAILED"); }).ok());
    for (const PaymentSession* session : {&free_gate, &unpaid_mark}) {
        ASSERT_EQ(run_async([&] {
                      return store_->take_lease(session->psid, "lease-a", 5'000, true);
                  })->state,
                  GateState::leased);
        const auto kept_s = raw_integer(server_.command("TTL ps:" + session->psid));
        ASSERT_TRUE(kept_s);
        EXPECT_GT(*kept_s, week_s - 60) << session->psid;
    }
}

// How many script calls Redis ran since its statistics were last reset.
std::size_t script_calls(const testing::RedisServer& server) {
    const std::string stats = server.command("INFO commandstats");
    std::size_t calls = 0;
    for (const std::string_view name : {"cmdstat_evalsha:calls=", "cmdstat_eval:calls="}) {
        const std::size_t at = stats.find(name);
        if (at != std::string::npos) calls += std::stoul(stats.substr(at + name.size()));
    }
    return calls;
}

// Taking a free gate, what nearly every payment meets, runs no script; only a take that finds
// the gate held asks the script to decide.
TEST_F(SessionStoreTest, TakingAFreeGateRunsNoScript) {
    open();
    ASSERT_EQ(server_.command("CONFIG RESETSTAT"), "+OK\r\n");
    ASSERT_EQ(run_async([&] { return store_->take_lease("ps-13", "lease-a", 5'000, true); })->state,
              GateState::leased);
    EXPECT_EQ(script_calls(server_), 0u);
    EXPECT_EQ(server_.command("GET gate:ps-13"), "$13\r\nlease:lease-a\r\n");
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-13", "lease-b", 5'000, true); })->state,
              GateState::busy);
    EXPECT_EQ(script_calls(server_), 1u);
}

// A Redis that refuses the plain keep (one before 7.0 knows no PEXPIRE ... GT; here an ACL
// refuses PEXPIRE) costs nothing but speed: the store gives back the lease its SET took, the
// script takes the gate, and every later take goes to the script.
TEST_F(SessionStoreTest, WhenRedisRefusesThePlainKeepTheScriptTakesTheGate) {
    open();
    ASSERT_EQ(server_.command("ACL SETUSER default -pexpire"), "+OK\r\n");
    const auto first =
        run_async([&] { return store_->take_lease("ps-14", "lease-a", 5'000, true); });
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->state, GateState::leased);
    EXPECT_EQ(server_.command("GET gate:ps-14"), "$13\r\nlease:lease-a\r\n");
    ASSERT_EQ(server_.command("ACL SETUSER default +pexpire"), "+OK\r\n");
    ASSERT_EQ(server_.command("CONFIG RESETSTAT"), "+OK\r\n");
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-15", "lease-b", 5'000, true); })->state,
              GateState::leased);
    EXPECT_EQ(script_calls(server_), 1u);
    EXPECT_EQ(server_.command("INFO commandstats").find("cmdstat_pexpire"), std::string::npos);
}

// A Redis that refuses the keep only for now (here a read-only replica, as after a failover)
// answers this delivery "later" and leaves the gate free; once it takes writes again, the
// takes stay plain, without a script.
TEST_F(SessionStoreTest, ARefusalForNowKeepsThePlainTake) {
    open();
    ASSERT_EQ(server_.command("REPLICAOF 127.0.0.1 9"), "+OK\r\n");  // A master never reached.
    const auto refused =
        run_async([&] { return store_->take_lease("ps-16", "lease-a", 5'000, true); });
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.fault(), Fault::unavailable);
    ASSERT_EQ(server_.command("REPLICAOF NO ONE"), "+OK\r\n");
    EXPECT_EQ(server_.command("EXISTS gate:ps-16"), ":0\r\n");
    ASSERT_EQ(server_.command("CONFIG RESETSTAT"), "+OK\r\n");
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-16", "lease-b", 5'000, true); })->state,
              GateState::leased);
    EXPECT_EQ(script_calls(server_), 0u);
    EXPECT_EQ(server_.command("GET gate:ps-16"), "$13\r\nlease:lease-b\r\n");
}

// Calls issued in the same turn of the loop leave in a single write.
TEST_F(SessionStoreTest, SendsEverythingIssuedInOneTurnInOneWrite) {
    open();
    const metrics::Histogram& depth = histogram("tigerfans_redis_pipeline_commands");
    const std::uint64_t writes_before = depth.count();
    const double commands_before = depth.sum();
    auto found = run_concurrently(io_, 100, [&](std::size_t) { return store_->find("ps-1"); });
    for (const auto& result : found.results) ASSERT_TRUE(result.has_value() && result->ok());
    EXPECT_EQ(depth.count() - writes_before, 1u);
    EXPECT_EQ(depth.sum() - commands_before, 100.0);
}

// Thousands of concurrent saves then finds: every caller gets its own session back, callers
// resume in the order they issued, and commands travel many to a write.
TEST_F(SessionStoreTest, PipelinesThousandsOfConcurrentCallsCorrectlyAndInOrder) {
#ifdef TIGERFANS_SANITIZED
    // ThreadSanitizer reads 4,000 pipelined answers in about 1.5 s on an idle machine, close to
    // the production timeout; the sanitized builds allow more, the plain build keeps 2 s.
    ClientOptions options;
    options.command_timeout_ms = 10'000;
    open(options);
#else
    open();
#endif
    constexpr std::size_t count = 4'000;
    std::vector<PaymentSession> sessions;
    for (std::size_t i = 0; i < count; i++) {
        sessions.push_back(numbered_session(static_cast<int>(i), base_time_us + 1));
    }
    auto saved =
        run_concurrently(io_, count, [&](std::size_t i) { return store_->save(sessions[i], 300); });
    for (const auto& result : saved.results) {
        ASSERT_TRUE(result.has_value());
        ASSERT_TRUE(result->ok()) << fault_name(result->fault());
    }
    const Clock::time_point started = Clock::now();
    auto found =
        run_concurrently(io_, count, [&](std::size_t i) { return store_->find(sessions[i].psid); });
    const double elapsed_s = seconds_since(started);
    for (std::size_t i = 0; i < count; i++) {
        ASSERT_TRUE(found.results[i].has_value() && found.results[i]->ok()) << i;
        ASSERT_TRUE(found.results[i]->value().has_value()) << i;
        testing::expect_same_session(*found.results[i]->value(), sessions[i]);
        ASSERT_EQ(found.completion_order[i], i);
    }
    const metrics::Histogram& depth = histogram("tigerfans_redis_pipeline_commands");
    EXPECT_GT(depth.mean(), 10.0);
    EXPECT_GT(depth.quantile_bound(1.0), 100.0);
    // The saves, the finds and start-up's four SCRIPT LOADs (the gate, the checkout keys, the
    // email slots and a session's field).
    EXPECT_EQ(histogram("tigerfans_redis_command_seconds").count(), 2 * count + 4);
    std::printf(
        "[ measured ] %zu concurrent finds in %.1f ms (%.0f commands/s), "
        "%.1f commands per write on average\n",
        count, elapsed_s * 1e3, static_cast<double>(count) / elapsed_s, depth.mean());
}

// REDIS_URL over TCP and over the unix socket reach the same server and honour the database.
class SessionStoreTransportTest : public RedisStoreTest {
protected:
    SessionStoreTransportTest() : RedisStoreTest(testing::free_tcp_port()) {}
};

// The same database seen over TCP and over the unix socket; database 0 stays untouched.
TEST_F(SessionStoreTransportTest, ReachesTheSameDatabaseOverTcpAndUnixSocket) {
    store_ = make_redis_store(io_.get_executor(), server_.tcp_url(3), registry_);
    ASSERT_TRUE(run_async([&] { return store_->start(); }).ok());
    const PaymentSession session = numbered_session(5, base_time_us);
    ASSERT_TRUE(run_async([&] { return store_->save(session, 60); }).ok());
    EXPECT_EQ(server_.command("EXISTS ps:ps-5"), ":0\r\n");  // The harness talks to db 0.

    metrics::Registry other_registry;
    auto over_unix = make_redis_store(io_.get_executor(), server_.unix_url(3), other_registry);
    ASSERT_TRUE(run_async([&] { return over_unix->start(); }).ok());
    Result<std::optional<PaymentSession>> found =
        run_async([&] { return over_unix->find("ps-5"); });
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found->has_value());
    testing::expect_same_session(**found, session);
    run_async([&]() -> asio::awaitable<int> {
        co_await over_unix->stop();
        co_return 0;
    });
}

// An invalid REDIS_URL stops start-up with the reason instead of connecting somewhere.
TEST(RedisStoreFactory, RefusesAnInvalidUrlWithTheReason) {
    asio::io_context io;
    metrics::Registry registry;
    try {
        make_redis_store(io.get_executor(), "redis://localhost:99999", registry);
        FAIL() << "an invalid URL was accepted";
    } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string(error.what()).find("port"), std::string::npos) << error.what();
    }
}

// Redis out of memory refuses the save: the store says overloaded (503), not a bug (500), and
// nothing of the session is left behind.
TEST_F(SessionStoreTest, ReportsRedisOutOfMemoryAsOverloaded) {
    open();
    ASSERT_EQ(server_.command("CONFIG SET maxmemory 1"), "+OK\r\n");
    const PaymentSession session = numbered_session(4, base_time_us);
    Status saved = run_async([&] { return store_->save(session, 60); });
    ASSERT_EQ(server_.command("CONFIG SET maxmemory 0"), "+OK\r\n");
    ASSERT_FALSE(saved.ok());
    EXPECT_EQ(saved.fault(), Fault::overloaded);
    EXPECT_EQ(server_.command("EXISTS ps:ps-4"), ":0\r\n");
    EXPECT_EQ(counter("tigerfans_redis_errors_total", "kind=\"reply\""), 1u);
}

// SCRIPT LOAD at start-up names every script exactly as the store computed it.
TEST_F(SessionStoreTest, LoadsTheGateScriptUnderTheShaItComputed) {
    open();
    const std::string sha = script_sha1(gate_script);
    EXPECT_EQ(sha.size(), 40u);
    EXPECT_EQ(server_.command("SCRIPT EXISTS " + sha), "*1\r\n:1\r\n");
    EXPECT_EQ(server_.command("SCRIPT EXISTS " + script_sha1(checkout_key_script)), "*1\r\n:1\r\n");
    const std::string slots_sha = script_sha1(email_slots_script);
    EXPECT_EQ(server_.command("SCRIPT EXISTS " + slots_sha), "*1\r\n:1\r\n");
    const std::string field_sha = script_sha1(session_field_script);
    EXPECT_EQ(server_.command("SCRIPT EXISTS " + field_sha), "*1\r\n:1\r\n");
}

KeyClaim key_claim(std::string key_id, std::string fingerprint, std::string token) {
    KeyClaim claim;
    claim.key_id = std::move(key_id);
    claim.fingerprint = std::move(fingerprint);
    claim.token = std::move(token);
    return claim;
}

// A claimed key answers busy with its fingerprint; once finished, done with the answer for the
// answer's lifetime; a late release never undoes it.
TEST_F(SessionStoreTest, AClaimedKeyIsBusyUntilFinishedThenAnswersTheStoredAnswer) {
    open();
    const KeyClaim first = key_claim("k1", "f1", "t1");
    const KeyClaim second = key_claim("k1", "f2", "t2");
    EXPECT_EQ(run_async([&] { return store_->claim_key(first, 5'000); })->state, KeyState::claimed);
    const auto busy = run_async([&] { return store_->claim_key(second, 5'000); });
    ASSERT_TRUE(busy.ok());
    EXPECT_EQ(busy->state, KeyState::busy);
    EXPECT_EQ(busy->fingerprint, "f1");
    const std::string body = R"({"order_id":"x:y"})";
    ASSERT_TRUE(run_async([&] { return store_->finish_key(first, 200, body, 3'600); }).ok());
    ASSERT_TRUE(run_async([&] { return store_->release_key(first); }).ok());
    const auto done = run_async([&] { return store_->claim_key(second, 5'000); });
    ASSERT_TRUE(done.ok());
    EXPECT_EQ(done->state, KeyState::done);
    EXPECT_EQ(done->fingerprint, "f1");
    EXPECT_EQ(done->status, 200u);
    EXPECT_EQ(done->body, body);
    const auto ttl_s = raw_integer(server_.command("TTL ckey:k1"));
    ASSERT_TRUE(ttl_s);
    EXPECT_GT(*ttl_s, 3'590);
}

// Only the claim's holder releases or finishes it; a released key is claimed again at once.
TEST_F(SessionStoreTest, OnlyTheClaimsHolderReleasesOrFinishesIt) {
    open();
    const KeyClaim holder = key_claim("k2", "f1", "t1");
    const KeyClaim stranger = key_claim("k2", "f1", "t2");
    ASSERT_EQ(run_async([&] { return store_->claim_key(holder, 5'000); })->state,
              KeyState::claimed);
    ASSERT_TRUE(run_async([&] { return store_->release_key(stranger); }).ok());
    ASSERT_TRUE(run_async([&] { return store_->finish_key(stranger, 200, "{}", 60); }).ok());
    EXPECT_EQ(run_async([&] { return store_->claim_key(stranger, 5'000); })->state, KeyState::busy);
    ASSERT_TRUE(run_async([&] { return store_->release_key(holder); }).ok());
    EXPECT_EQ(server_.command("EXISTS ckey:k2"), ":0\r\n");
    EXPECT_EQ(run_async([&] { return store_->claim_key(stranger, 5'000); })->state,
              KeyState::claimed);
}

// A claim whose holder died expires with its lease; the retry then claims the key.
TEST_F(SessionStoreTest, AnExpiredClaimLetsTheRetryClaimTheKey) {
    open();
    const KeyClaim dead = key_claim("k3", "f1", "t1");
    const KeyClaim retry = key_claim("k3", "f1", "t2");
    ASSERT_EQ(run_async([&] { return store_->claim_key(dead, 300); })->state, KeyState::claimed);
    EXPECT_EQ(run_async([&] { return store_->claim_key(retry, 5'000); })->state, KeyState::busy);
    EXPECT_TRUE(expires(server_, io_, "ckey:k3"));
    EXPECT_EQ(run_async([&] { return store_->claim_key(retry, 5'000); })->state, KeyState::claimed);
}

TEST_F(SessionStoreTest, OfManyConcurrentClaimsOfOneKeyExactlyOneSucceeds) {
    open();
    constexpr std::size_t requests = 300;
    std::vector<KeyClaim> claims;
    for (std::size_t i = 0; i < requests; i++) {
        claims.push_back(key_claim("k4", "f1", "t" + std::to_string(i)));
    }
    auto outcomes = run_concurrently(
        io_, requests, [&](std::size_t i) { return store_->claim_key(claims[i], 5'000); });
    std::size_t claimed = 0;
    for (const auto& result : outcomes.results) {
        ASSERT_TRUE(result.has_value() && result->ok());
        claimed += (*result)->state == KeyState::claimed;
        if ((*result)->state != KeyState::claimed) {
            EXPECT_EQ((*result)->state, KeyState::busy);
        }
    }
    EXPECT_EQ(claimed, 1u);
}

class EmailSlotsTest : public RedisStoreTest {
protected:
    bool claim(SessionStore& store, const std::string& order_id, std::uint32_t limit,
               std::uint64_t counts_ms = 60'000) {
        auto claimed = run_async(
            [&] { return store.claim_email_slot(slot_email, order_id, counts_ms, limit); });
        EXPECT_TRUE(claimed.ok());
        return claimed.ok() && *claimed;
    }

    void settle(const std::string& order_id, bool paid) {
        EXPECT_TRUE(
            run_async([&] { return store_->settle_email_slot(slot_email, order_id, paid); }).ok());
    }

    std::string slots_key() const { return email_slots_key(slot_email); }

    static constexpr std::string_view slot_email = "fan+slots@example.com";
};

// Up to the limit; a freed slot counts no more; a paid one counts for good, and its set no
// longer expires.
TEST_F(EmailSlotsTest, HoldTheLimitAndEndAsSettled) {
    open();
    EXPECT_TRUE(claim(*store_, "order-1", 2));
    EXPECT_TRUE(claim(*store_, "order-1", 2));  // Already the order's.
    EXPECT_TRUE(claim(*store_, "order-2", 2));
    EXPECT_FALSE(claim(*store_, "order-3", 2));
    settle("order-2", false);
    EXPECT_TRUE(claim(*store_, "order-3", 2));
    const auto ttl_ms = raw_integer(server_.command("PTTL " + slots_key()));
    ASSERT_TRUE(ttl_ms);
    EXPECT_GT(*ttl_ms, 50'000);  // The set goes with its last held slot.
    settle("order-1", true);
    settle("order-3", true);
    EXPECT_EQ(server_.command("PTTL " + slots_key()), ":-1\r\n");
    EXPECT_EQ(server_.command("ZSCORE " + slots_key() + " order-1"), "$3\r\ninf\r\n");
    EXPECT_FALSE(claim(*store_, "order-4", 2));
}

// A slot freed after it was paid (a checkout that failed after a payment of its session
// came early) still counts.
TEST_F(EmailSlotsTest, APaidSlotIsNeverFreed) {
    open();
    EXPECT_TRUE(claim(*store_, "order-1", 1));
    settle("order-1", true);
    settle("order-1", false);
    EXPECT_EQ(server_.command("ZSCORE " + slots_key() + " order-1"), "$3\r\ninf\r\n");
    EXPECT_FALSE(claim(*store_, "order-2", 1));
}

// A held slot whose time is up counts no more (and the set expires with it); a paid one next
// to it keeps counting.
TEST_F(EmailSlotsTest, AHeldSlotEndsWhenItsTimeIsUp) {
    open();
    EXPECT_TRUE(claim(*store_, "order-1", 1, 1'000));
    EXPECT_FALSE(claim(*store_, "order-2", 1));
    EXPECT_TRUE(expires(server_, io_, slots_key()));
    EXPECT_TRUE(claim(*store_, "order-2", 2));
    settle("order-2", true);
    EXPECT_TRUE(claim(*store_, "order-3", 2, 1'000));
    EXPECT_FALSE(claim(*store_, "order-4", 2));
    EXPECT_TRUE(run_until(
        io_, [&] { return claim(*store_, "order-4", 2); }, call_deadline_ms));
    EXPECT_FALSE(claim(*store_, "order-5", 2));  // order-2 (paid) and order-4.
}

// Many checkouts of one email at once, on two connections (two processes), with the limit at
// 3: exactly 3 get a slot.
TEST_F(EmailSlotsTest, ManyConcurrentClaimsOfOneEmailTakeExactlyTheLimit) {
    open();
    auto other = make_store(io_.get_executor(), parse_url(server_.unix_url()).endpoint.value(), {},
                            registry_);
    ASSERT_TRUE(run_async([&] { return other->start(); }).ok());
    constexpr std::size_t call_count = 500;
    constexpr std::uint32_t limit = 3;
    std::vector<std::string> order_ids;  // Outlive the calls: they take views.
    for (std::size_t i = 0; i < call_count; i++) order_ids.push_back("order-" + std::to_string(i));
    auto outcomes = run_concurrently(io_, call_count, [&](std::size_t i) {
        SessionStore& store = i % 2 == 0 ? *store_ : *other;
        return store.claim_email_slot(slot_email, order_ids[i], 60'000, limit);
    });
    std::size_t claimed = 0;
    for (const auto& result : outcomes.results) {
        ASSERT_TRUE(result.has_value() && result->ok());
        claimed += **result ? 1 : 0;
    }
    EXPECT_EQ(claimed, limit);
    EXPECT_EQ(server_.command("ZCARD " + slots_key()), ":3\r\n");
    run_async([&]() -> asio::awaitable<int> {
        co_await other->stop();
        co_return 0;
    });
}

// The script runs when Redis forgot it (a restart): EVALSHA falls back to EVAL.
TEST_F(EmailSlotsTest, WorkAfterRedisForgotTheScript) {
    open();
    EXPECT_EQ(server_.command("SCRIPT FLUSH"), "+OK\r\n");
    EXPECT_TRUE(claim(*store_, "order-1", 1));
    EXPECT_FALSE(claim(*store_, "order-2", 1));
}

}  // namespace
}  // namespace tigerfans::sessions::redis

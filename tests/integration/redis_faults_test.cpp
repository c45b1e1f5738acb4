// The Redis session store when Redis fails: stopped (process gone) and restarted, frozen
// (SIGSTOP: connected but silent), absent at start-up, and the store's own orderly stop. Every
// call must end promptly with a fault, never hang, and the store must come back by itself.
#include <gtest/gtest.h>

#include "redis_store_fixture.hpp"

namespace tigerfans::sessions::redis {
namespace {

using RedisFaultTest = RedisStoreTest;

// Store calls take string_views and start lazily: the psids must outlive the calls.
std::vector<std::string> numbered_psids(std::size_t count) {
    std::vector<std::string> psids;
    for (std::size_t i = 0; i < count; i++) psids.push_back("ps-" + std::to_string(i));
    return psids;
}

bool is_outage(Fault fault) { return fault == Fault::unavailable || fault == Fault::timeout; }

// Redis stopped mid-test: calls in flight and new calls fail promptly with an outage fault,
// healthy() turns false; restarted, the store reconnects within seconds by itself and the gate
// works again although the new Redis has never seen its script (the NOSCRIPT path). The
// commands' timeout is long: the stop must end them, and on a starved machine writing the 1,000
// finds can outlast a short one, whose reconnect to the Redis not yet stopped would be counted.
TEST_F(RedisFaultTest, FailsPromptlyWhileRedisIsDownAndRecoversAfterARestart) {
    ClientOptions options = quick_options();
    options.command_timeout_ms = 10'000;
    open(options);
    const std::vector<std::string> psids = numbered_psids(1'000);
    auto found =
        spawn_all(io_, psids.size(), [&](std::size_t i) { return store_->find(psids[i]); });
    io_.poll();  // The finds are written; some may even be answered.
    server_.stop();
    const Clock::time_point stopped = Clock::now();
    auto during = run_concurrently(
        io_, 100, [&](std::size_t) { return store_->take_lease("ps-1", "lease-1", 5000, false); });
    for (const auto& result : during.results) {
        ASSERT_TRUE(result.has_value());
        ASSERT_FALSE(result->ok());
        EXPECT_TRUE(is_outage(result->fault())) << fault_name(result->fault());
    }
    EXPECT_TRUE(all_completed(io_, found, 1'000ms));
    EXPECT_LT(seconds_since(stopped), 1.0);
    EXPECT_TRUE(wait_healthy(false, 1'000ms));

    server_.start();
    const Clock::time_point restarted = Clock::now();
    ASSERT_TRUE(wait_healthy(true, 5'000ms));
    std::printf("[ measured ] serving again %.0f ms after Redis came back\n",
                seconds_since(restarted) * 1e3);
    const std::string sha = script_sha1(gate_script);
    EXPECT_EQ(server_.command("SCRIPT EXISTS " + sha), "*1\r\n:0\r\n");
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-1", "lease-1", 5000, false); })->state,
              GateState::leased);
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-1", "lease-2", 5000, false); })->state,
              GateState::busy);
    EXPECT_EQ(server_.command("SCRIPT EXISTS " + sha), "*1\r\n:1\r\n");
    EXPECT_EQ(counter("tigerfans_redis_reconnects_total"), 1u);
    EXPECT_GE(counter("tigerfans_redis_errors_total", "kind=\"unavailable\""), 100u);
}

// Calls in flight when Redis goes away all complete, each with an answer or `unavailable`:
// the lost connection ended them, not the (2 s) command timeout.
TEST_F(RedisFaultTest, CompletesEveryCallInFlightWhenRedisGoesAway) {
    open();
    constexpr std::size_t count = 1'000;
    const std::vector<std::string> psids = numbered_psids(count);
    auto found = spawn_all(io_, count, [&](std::size_t i) { return store_->find(psids[i]); });
    io_.poll();
    server_.stop();
    const Clock::time_point stopped = Clock::now();
    ASSERT_TRUE(all_completed(io_, found, 1'500ms));
    EXPECT_LT(seconds_since(stopped), 1.0);
    for (const auto& result : found->results) {
        ASSERT_TRUE(result.has_value());
        if (!result->ok()) {
            EXPECT_EQ(result->fault(), Fault::unavailable) << fault_name(result->fault());
        }
    }
}

// Redis frozen (connected but silent): calls time out after the command timeout, healthy()
// turns false, new calls fail at once; thawed, the store serves again by itself.
TEST_F(RedisFaultTest, TimesOutWhenRedisStopsAnsweringAndRecoversWhenItResumes) {
    open(quick_options());  // Command timeout 400 ms.
    testing::FrozenRedis frozen(server_);
    ASSERT_TRUE(frozen.frozen());
    const std::vector<std::string> psids = numbered_psids(50);
    const Clock::time_point froze = Clock::now();
    auto stalled =
        run_concurrently(io_, psids.size(), [&](std::size_t i) { return store_->find(psids[i]); });
    const double waited_s = seconds_since(froze);
    for (const auto& result : stalled.results) {
        ASSERT_TRUE(result.has_value() && !result->ok());
        EXPECT_EQ(result->fault(), Fault::timeout);
    }
    EXPECT_GT(waited_s, 0.35);
    EXPECT_LT(waited_s, 1.5);
    EXPECT_FALSE(healthy());
    const Clock::time_point asked = Clock::now();
    Result<GateAnswer> refused =
        run_async([&] { return store_->take_lease("ps-1", "lease-1", 5000, false); });
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.fault(), Fault::unavailable);
    EXPECT_LT(seconds_since(asked), 0.05);
    // Reconnecting reaches the frozen server's socket, but its handshake times out too.
    EXPECT_FALSE(run_until(
        io_, [&] { return healthy(); }, 1'000ms));

    frozen.thaw();
    ASSERT_TRUE(wait_healthy(true, 5'000ms));
    EXPECT_EQ(run_async([&] { return store_->take_lease("ps-1", "lease-1", 5000, false); })->state,
              GateState::leased);
    EXPECT_GE(counter("tigerfans_redis_errors_total", "kind=\"timeout\""), 50u);
}

// Without Redis, start() reports unavailable at once; the store keeps trying and connects
// when Redis appears, and a later start() loads the script.
TEST_F(RedisFaultTest, StartsWithoutRedisAndConnectsWhenItAppears) {
    server_.stop();
    Endpoint endpoint = parse_url(server_.unix_url()).endpoint.value();
    store_ = make_store(io_.get_executor(), std::move(endpoint), quick_options(), registry_);
    const Clock::time_point asked = Clock::now();
    Status started = run_async([&] { return store_->start(); });
    ASSERT_FALSE(started.ok());
    EXPECT_EQ(started.fault(), Fault::unavailable);
    EXPECT_LT(seconds_since(asked), 0.5);
    EXPECT_FALSE(healthy());

    server_.start();
    ASSERT_TRUE(wait_healthy(true, 5'000ms));
    ASSERT_TRUE(run_async([&] { return store_->start(); }).ok());
    EXPECT_EQ(server_.command("SCRIPT EXISTS " + script_sha1(gate_script)), "*1\r\n:1\r\n");
}

// A database Redis cannot SELECT is a failed connection: nothing is served from another one.
TEST_F(RedisFaultTest, DoesNotServeWhenTheDatabaseCannotBeSelected) {
    Endpoint endpoint = parse_url(server_.unix_url(99)).endpoint.value();  // Redis has 16.
    store_ = make_store(io_.get_executor(), std::move(endpoint), quick_options(), registry_);
    Status started = run_async([&] { return store_->start(); });
    ASSERT_FALSE(started.ok());
    EXPECT_EQ(started.fault(), Fault::unavailable);
    EXPECT_FALSE(healthy());
    Result<GateAnswer> refused =
        run_async([&] { return store_->take_lease("ps-1", "lease-1", 5000, false); });
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.fault(), Fault::unavailable);
    EXPECT_EQ(server_.command("DBSIZE"), ":0\r\n");
}

// Beyond the in-flight limit calls are refused at once as overloaded, never queued without
// bound; once replies drain, calls are accepted again.
TEST_F(RedisFaultTest, RefusesCallsBeyondTheInFlightLimitAsOverloaded) {
    ClientOptions options;
    options.in_flight_commands_max = 10;
    open(options);
    auto found = run_concurrently(io_, 25, [&](std::size_t) { return store_->find("ps-1"); });
    std::size_t answered = 0;
    for (const auto& result : found.results) {
        ASSERT_TRUE(result.has_value());
        if (result->ok()) {
            answered++;
        } else {
            EXPECT_EQ(result->fault(), Fault::overloaded);
        }
    }
    EXPECT_EQ(answered, 10u);
    EXPECT_EQ(counter("tigerfans_redis_errors_total", "kind=\"overloaded\""), 15u);
    EXPECT_TRUE(run_async([&] { return store_->find("ps-1"); }).ok());
}

// stop() lets calls already issued finish, then refuses new ones with shutting_down.
TEST_F(RedisFaultTest, StopFinishesCallsInFlightThenRefusesNewOnes) {
    open(quick_options());
    constexpr std::size_t count = 200;
    std::vector<PaymentSession> sessions;
    for (std::size_t i = 0; i < count; i++) {
        sessions.push_back(numbered_session(static_cast<int>(i), 1));
    }
    auto saved =
        spawn_all(io_, count, [&](std::size_t i) { return store_->save(sessions[i], 60); });
    stop_store();
    ASSERT_EQ(saved->completion_order.size(), count);
    for (const auto& result : saved->results) ASSERT_TRUE(result.has_value() && result->ok());
    EXPECT_EQ(server_.command("ZCARD pendings"), ":200\r\n");
    EXPECT_FALSE(healthy());
    Status refused = run_async([&] { return store_->save(sessions.front(), 60); });
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.fault(), Fault::shutting_down);
}

}  // namespace
}  // namespace tigerfans::sessions::redis

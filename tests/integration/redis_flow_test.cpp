// Level 2 with Redis going away in the middle: checkout answers 503 and leaves no hold, what
// does not need Redis keeps answering, and the flow works again within seconds of Redis
// coming back. Sessions acknowledged before Redis was killed are still payable after it
// restarts. Also: a level-2 run leaves no session behind in Redis.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "support/levels.hpp"

namespace tigerfans::testing {
namespace {

using nlohmann::json;

class RedisFlowTest : public LevelTest {
protected:
    // A checkout of class A by a fan of its own.
    Reply checkout() {
        const std::string email = "fan" + std::to_string(++fans_) + "@example.com";
        return driver().post_json("/api/checkout",
                                  json{{"cls", "A"}, {"customer_email", email}}.dump());
    }
    json inventory() { return json::parse(driver().get("/api/inventory").body); }

    int fans_ = 0;
};

TEST_P(RedisFlowTest, CheckoutAnswers503WithoutLeakingHoldsWhileRedisIsDownAndRecoversAfter) {
    start_server();
    ASSERT_EQ(checkout().status, 200u);
    redis()->stop();

    const Reply refused = checkout();
    EXPECT_EQ(refused.status, 503u) << refused.body;
    EXPECT_EQ(json::parse(refused.body)["error"], "service_unavailable");
    EXPECT_EQ(inventory()["A"]["active_holds"], 1);  // Only the checkout made before the stop.
    EXPECT_EQ(driver().get("/healthz").status, 503u);
    EXPECT_EQ(driver().get("/api/orders/" + std::string(32, 'a')).status, 404u);

    redis()->start();
    EXPECT_TRUE(wait_until([&] { return checkout().status == 200; }, std::chrono::seconds(10)));
    EXPECT_EQ(driver().get("/healthz").status, 200u);
    EXPECT_EQ(inventory()["A"]["active_holds"], 2);
}

// Redis frozen while a keyed checkout claims its key: the claim times out (503), and lands
// once Redis resumes. The server releases it in the background once its client reconnects, so
// a retry under the key runs within seconds, not after meeting it in flight (409) until its
// 60 s lease ends.
TEST_P(RedisFlowTest, AKeyClaimedWhileRedisWasFrozenIsReleasedOnceItResumes) {
    start_server();
    const std::string body = json{{"cls", "A"}, {"customer_email", "keyed@example.com"}}.dump();
    const http::Headers headers = {{"Content-Type", "application/json"},
                                   {"Idempotency-Key", "frozen-claim"}};
    {
        const FrozenRedis frozen(*redis());
        ASSERT_TRUE(frozen.frozen());
        const Reply lost = driver().post("/api/checkout", body, headers);
        EXPECT_EQ(lost.status, 503u) << lost.body;
    }
    std::map<unsigned, int> seen;  // Status -> answers, for the failure message.
    const bool ran = wait_until(
        [&] {
            const Reply retried = driver().post("/api/checkout", body, headers);
            seen[retried.status]++;
            return retried.status == 200;
        },
        std::chrono::seconds(15));
    std::string statuses;
    for (const auto& [status, count] : seen) {
        statuses += std::to_string(status) + " x" + std::to_string(count) + " ";
    }
    EXPECT_TRUE(ran) << statuses;
    EXPECT_EQ(inventory()["A"]["active_holds"], 1);
}

// A server started while Redis is down serves the waiting room once Redis is back: its queue
// store's client was started too, and reconnects by itself like the sessions'.
TEST_P(RedisFlowTest, AWaitingRoomStartedWithoutRedisServesOnceRedisIsBack) {
    const std::map<std::string, std::string> waiting_room = {
        {"WAITING_ROOM", "on"},
        {"SALE_OPENS_AT", "2020-01-01T00:00:00Z"},
        {"ADMIT_PER_SECOND", "100"}};
    start_server(waiting_room);
    redis()->stop();
    restart_server(waiting_room);
    EXPECT_EQ(driver().post("/api/queue/join", "").status, 503u);
    redis()->start();
    EXPECT_TRUE(wait_until([&] { return driver().post("/api/queue/join", "").status == 201; },
                           std::chrono::seconds(10)));
    EXPECT_TRUE(wait_until([&] { return driver().get("/healthz").status == 200; },
                           std::chrono::seconds(10)));
}

// kill -9 of Redis right after checkouts were answered: the append-only file brings every
// acknowledged session back, and each is paid into an order.
TEST_P(RedisFlowTest, SessionsSurviveRedisBeingKilledAndRestarted) {
    start_server();
    std::vector<json> accepted;
    for (int i = 0; i < 20; i++) {
        const Reply reply = checkout();
        ASSERT_EQ(reply.status, 200u);
        accepted.push_back(json::parse(reply.body));
    }
    redis()->kill();
    redis()->start();
    ASSERT_TRUE(wait_until([&] { return driver().get("/healthz").status == 200; },
                           std::chrono::seconds(10)));
    for (const json& order : accepted) {
        const std::string psid = order["redirect_url"].get<std::string>().substr(9);
        const Reply paid = driver().post("/mockpay/" + psid + "/emit", "t=succeeded",
                                         {{"Content-Type", "application/x-www-form-urlencoded"}});
        EXPECT_EQ(paid.status, 303u) << paid.body;
        const Reply stored = driver().get("/api/orders/" + order["order_id"].get<std::string>());
        ASSERT_EQ(stored.status, 200u);
        EXPECT_EQ(json::parse(stored.body)["status"], "PAID");
    }
}

TEST_P(RedisFlowTest, AFullRunLeavesNoPaymentSessionInRedis) {
    start_server();
    const auto replies = driver().run_concurrently(200, 50, [](int i, http::Client& client) {
        return checkout_call(client, i % 2 ? "A" : "B", "fan" + std::to_string(i) + "@example.com");
    });
    std::vector<std::string> psids;
    for (const Reply& reply : replies) {
        ASSERT_EQ(reply.status, 200u) << reply.body;
        psids.push_back(json::parse(reply.body)["redirect_url"].get<std::string>().substr(9));
    }
    const auto paid = driver().run_concurrently(200, 50, [&](int i, http::Client& client) {
        return emit_call(client, psids[static_cast<std::size_t>(i)], "succeeded");
    });
    for (const Reply& reply : paid) EXPECT_EQ(reply.status, 303u) << reply.body;
    // Each webhook drops its session after its answer, so the last drops may still be on the
    // way when the last payment has answered.
    EXPECT_TRUE(wait_until([&] { return redis()->command("ZCARD pendings") == ":0\r\n"; },
                           std::chrono::seconds(5)));
    EXPECT_EQ(redis()->command("EVAL \"return #redis.call('KEYS','ps:*')\" 0"), ":0\r\n");
    EXPECT_EQ(inventory()["A"]["sold"].get<int>() + inventory()["B"]["sold"].get<int>(), 200);
}

INSTANTIATE_TEST_SUITE_P(Level2, RedisFlowTest, ::testing::Values(Level{"pg_redis", "pg", "redis"}),
                         level_name);

}  // namespace
}  // namespace tigerfans::testing

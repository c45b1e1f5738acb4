// Checkout idempotency keys end to end over HTTP on every level (the keys live in PostgreSQL
// at level 1 and in Redis at levels 2 and 3): a replay answers the first answer and holds
// nothing more, another request under the same key answers 422, and of many concurrent
// requests with one key exactly one runs a checkout.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/levels.hpp"
#include "support/run_async.hpp"

namespace tigerfans::testing {
namespace {

using nlohmann::json;

class IdempotencyTest : public LevelTest {
protected:
    // `second_key`, when not empty, is sent as a second Idempotency-Key field.
    static boost::asio::awaitable<Reply> keyed_call(http::Client& client, std::string key,
                                                    std::string cls, std::string second_key) {
        std::string body = json{{"cls", cls}, {"customer_email", "fan@example.com"}}.dump();
        http::Headers headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", key}};
        if (!second_key.empty()) headers.emplace_back("Idempotency-Key", second_key);
        co_return to_reply(co_await client.request(http::Method::post, "/api/checkout",
                                                   std::move(body), std::move(headers)));
    }

    Reply keyed_checkout(const std::string& key, const std::string& cls = "A",
                         const std::string& second_key = "") {
        return run_async(driver().io(),
                         [&] { return keyed_call(driver().client(), key, cls, second_key); });
    }

    json class_a() {
        const Reply reply = driver().get("/api/inventory");
        EXPECT_EQ(reply.status, 200u) << reply.body;
        return json::parse(reply.body, nullptr, false)["A"];
    }

    static std::string error_of(const Reply& reply) {
        const json body = json::parse(reply.body, nullptr, false);
        return body.is_object() ? body.value("error", "") : "";
    }
};

TEST_P(IdempotencyTest, AReplayAnswersTheFirstAnswerAndHoldsNothingMore) {
    start_server();
    const Reply first = keyed_checkout("order-attempt-1");
    ASSERT_EQ(first.status, 200u) << first.body;
    EXPECT_EQ(first.header("Idempotent-Replayed"), "");
    const Reply again = keyed_checkout("order-attempt-1");
    EXPECT_EQ(again.status, 200u);
    EXPECT_EQ(again.body, first.body);
    EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(class_a()["active_holds"], 1);
    const Reply other = keyed_checkout("order-attempt-1", "B");
    EXPECT_EQ(other.status, 422u) << other.body;
    EXPECT_EQ(error_of(other), "idempotency_key_reused");
    EXPECT_EQ(keyed_checkout("").status, 400u);
    EXPECT_EQ(keyed_checkout(std::string(256, 'k')).status, 400u);
    // Two keys on one request: which one the answer would be kept under is refused, not guessed.
    const Reply two_keys = keyed_checkout("key-one", "A", "key-two");
    EXPECT_EQ(two_keys.status, 400u) << two_keys.body;
    EXPECT_EQ(error_of(two_keys), "invalid_idempotency_key");
    EXPECT_EQ(class_a()["active_holds"], 1);
    // The answer still leads to a paid order.
    const std::string redirect = json::parse(first.body)["redirect_url"];
    EXPECT_EQ(driver().post_form(redirect + "/emit", "t=succeeded").status, 303u);
    EXPECT_EQ(class_a()["sold"], 1);
    EXPECT_EQ(keyed_checkout("order-attempt-1").body, first.body);
}

// Concurrent retries of one checkout: one runs it, the others answer 409 while it is in
// flight or replay its answer once it is done; one hold in all.
TEST_P(IdempotencyTest, OfManyConcurrentRequestsWithOneKeyExactlyOneRunsACheckout) {
    start_server();
    const auto replies = driver().run_concurrently(
        40, 40, [](int, http::Client& client) { return keyed_call(client, "same-key", "A", ""); });
    std::size_t ran = 0, in_flight = 0, replayed = 0;
    std::string answer;
    for (const Reply& reply : replies) {
        if (reply.status == 409u) {
            EXPECT_EQ(error_of(reply), "idempotency_key_in_flight");
            in_flight++;
            continue;
        }
        ASSERT_EQ(reply.status, 200u) << reply.body;
        if (answer.empty()) answer = reply.body;
        EXPECT_EQ(reply.body, answer);
        (reply.header("Idempotent-Replayed") == "true" ? replayed : ran)++;
    }
    EXPECT_EQ(ran, 1u);
    EXPECT_EQ(ran + in_flight + replayed, 40u);
    EXPECT_EQ(class_a()["active_holds"], 1);
    EXPECT_EQ(keyed_checkout("same-key").body, answer);
}

INSTANTIATE_TEST_SUITE_P(Levels, IdempotencyTest, ::testing::ValuesIn(all_levels()), level_name);

}  // namespace
}  // namespace tigerfans::testing

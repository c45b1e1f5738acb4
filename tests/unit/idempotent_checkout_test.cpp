// Checkout with an Idempotency-Key through the API handler, against the in-memory test
// doubles: a replay answers the first answer and holds nothing more, another request under the
// same key is refused, a key in flight answers 409, a fault frees the key for a retry (a lost
// claim and a failed release in the background), a process that dies holding a claim leaves it
// to its lease, and malformed keys answer 400.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

#include "flow_fakes.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/flows/api.hpp"
#include "tigerfans/flows/idempotent_checkout.hpp"
#include "tigerfans/http/errors.hpp"
#include "tigerfans/http/router.hpp"

namespace tigerfans::flows {
namespace {

using testing_fakes::ProcessDied;

constexpr std::string_view fan_body = R"({"cls":"A","customer_email":"fan@example.com"})";

class IdempotentCheckoutTest : public testing_fakes::FlowFixture {
protected:
    IdempotentCheckoutTest() {
        router.add(api_routes(services, [](const http::Request&) { return false; }));
    }

    // POST /api/checkout with `body`, and the key unless it is nullopt.
    http::Response post(std::optional<std::string> key, std::string_view body = fan_body) {
        http::Request request;
        request.method = http::Method::post;
        request.target = request.path = "/api/checkout";
        request.body = std::string(body);
        if (key) request.headers.emplace_back("idempotency-key", std::move(*key));
        return testing::run_async(io, [&] { return router.handle(request); });
    }

    static std::string error_of(const http::Response& response) {
        const auto json = nlohmann::json::parse(response.body, nullptr, false);
        return json.is_object() && json.contains("error") ? json["error"].get<std::string>() : "";
    }

    static bool replayed(const http::Response& response) {
        return http::find_header(response.headers, http::idempotent_replay_header) == "true";
    }

    http::Router router;
};

TEST_F(IdempotentCheckoutTest, AReplayAnswersTheFirstAnswerAndHoldsNothingMore) {
    const http::Response first = post("key-1");
    ASSERT_EQ(first.status, 200u) << first.body;
    EXPECT_FALSE(replayed(first));
    const std::size_t holds = ledger.held.size();
    // The same request, written differently, is the same request.
    const http::Response again =
        post("key-1", R"({ "customer_email": " fan@example.com", "cls": "A" })");
    EXPECT_EQ(again.status, 200u);
    EXPECT_EQ(again.body, first.body);
    EXPECT_TRUE(replayed(again));
    EXPECT_EQ(ledger.held.size(), holds);
    EXPECT_EQ(sessions.saved.size(), 1u);
    // Another key is another checkout.
    EXPECT_NE(post("key-2").body, first.body);
    EXPECT_EQ(sessions.saved.size(), 2u);
}

// The claim landed but its answer was lost: the retry the 503 asks for meets the key in
// flight, until the release, retried in the background past a first failure, lands.
TEST_F(IdempotentCheckoutTest, AClaimWhoseAnswerWasLostIsReleasedInTheBackground) {
    retry_undos();
    calls.lose_reply_of_nth(1);
    EXPECT_EQ(post("key-1").status, 503u);
    EXPECT_EQ(error_of(post("key-1")), "idempotency_key_in_flight");
    calls.fail_next("sessions.release_key");
    drain_background();
    EXPECT_FALSE(calls.armed());  // The first release failed.
    const http::Response retried = post("key-1");
    EXPECT_EQ(retried.status, 200u) << retried.body;
    EXPECT_FALSE(replayed(retried));
    EXPECT_EQ(sessions.saved.size(), 1u);
}

// An overloaded store refused the claim without running it: nothing is left to release.
TEST_F(IdempotentCheckoutTest, AClaimRefusedAsOverloadedIsNotReleasedLater) {
    retry_undos();
    calls.fail_next("sessions.claim_key", Fault::overloaded);
    EXPECT_EQ(post("key-1").status, 503u);
    EXPECT_EQ(background.pending(), 0u);
    EXPECT_EQ(post("key-1").status, 200u);
}

// A release after a passing answer that fails is retried the same way.
TEST_F(IdempotentCheckoutTest, AReleaseThatFailsIsRetriedInTheBackground) {
    retry_undos();
    calls.fail_nth(2);  // The email slot's claim, after the key's: a 503, not kept...
    calls.fail_next("sessions.release_key");  // ...so the key is released, which fails.
    EXPECT_EQ(post("key-1").status, 503u);
    EXPECT_EQ(calls.last_failed(), "sessions.release_key");
    EXPECT_EQ(post("key-1").status, 409u);
    drain_background();
    EXPECT_EQ(post("key-1").status, 200u);
}

TEST_F(IdempotentCheckoutTest, TheSameKeyWithAnotherRequestAnswers422) {
    ASSERT_EQ(post("key-1").status, 200u);
    const http::Response other = post("key-1", R"({"cls":"B","customer_email":"fan@example.com"})");
    EXPECT_EQ(other.status, 422u);
    EXPECT_EQ(other.content_type, "application/json");
    EXPECT_EQ(error_of(other), "idempotency_key_reused");
    EXPECT_EQ(post("key-1", R"({"cls":"A","customer_email":"other@example.com"})").status, 422u);
    EXPECT_EQ(sessions.saved.size(), 1u);
}

TEST_F(IdempotentCheckoutTest, WithoutTheHeaderEveryRequestIsACheckoutOfItsOwn) {
    const http::Response first = post(std::nullopt);
    const http::Response second = post(std::nullopt);
    ASSERT_EQ(first.status, 200u);
    ASSERT_EQ(second.status, 200u);
    EXPECT_NE(first.body, second.body);
    EXPECT_TRUE(sessions.keys.empty());
    EXPECT_EQ(calls.names_since(0).find("key"), std::string::npos) << calls.names_since(0);
}

TEST_F(IdempotentCheckoutTest, ASoldOutAnswerIsRecordedAndReplayed) {
    ledger.tickets_left = 0;
    const http::Response first = post("key-1");
    ASSERT_EQ(first.status, 409u);
    EXPECT_EQ(error_of(first), "sold_out");
    ledger.tickets_left = 5;  // Stock coming back does not change the recorded answer.
    const http::Response again = post("key-1");
    EXPECT_EQ(again.status, 409u);
    EXPECT_EQ(again.body, first.body);
    EXPECT_TRUE(replayed(again));
    EXPECT_TRUE(ledger.held.empty());
}

// The email's ticket limit held nothing and lifts by itself: its 409 is not kept, so the same
// key checks out once the email has a slot again.
TEST_F(IdempotentCheckoutTest, AnEmailAtItsLimitIsNotKeptSoTheRetryRunsOnceASlotIsFree) {
    config.tickets_per_email = 1;
    ASSERT_EQ(post("key-1").status, 200u);
    const http::Response refused = post("key-2");
    ASSERT_EQ(refused.status, 409u);
    EXPECT_EQ(error_of(refused), "ticket_limit");
    EXPECT_FALSE(sessions.keys.contains(sha256_hex("key-2")));
    sessions.expire_email_slots();
    const http::Response retry = post("key-2");
    EXPECT_EQ(retry.status, 200u) << retry.body;
    EXPECT_FALSE(replayed(retry));
}

// A checkout another site's page sends (its Origin another host's) holds nothing; the site's
// own pages and clients that name no origin check out.
TEST_F(IdempotentCheckoutTest, ACrossSiteCheckoutIsRefusedAndHoldsNothing) {
    auto post_from = [&](std::string_view origin) {
        http::Request request;
        request.method = http::Method::post;
        request.target = request.path = "/api/checkout";
        request.body = std::string(fan_body);
        request.headers.emplace_back("host", "tickets.example:8000");
        request.headers.emplace_back("origin", std::string(origin));
        return testing::run_async(io, [&] { return router.handle(request); });
    };
    const http::Response refused = post_from("https://evil.example");
    EXPECT_EQ(refused.status, 403u);
    EXPECT_EQ(error_of(refused), "forbidden");
    EXPECT_TRUE(ledger.held.empty());
    EXPECT_EQ(post_from("http://tickets.example:8000").status, 200u);
    EXPECT_EQ(post(std::nullopt).status, 200u);
}

// Which answers a key keeps for its replays: a transient 409 (the email's limit, seats others
// held at that moment), a refused admission and any fault are not kept; a
// sold-out or taken-seats 409 is.
TEST(IdempotencyKey, KeepsEveryAnswerButFaultsAndTransientRefusals) {
    EXPECT_TRUE(is_kept_answer(http::Response::json(200, "{}")));
    EXPECT_TRUE(is_kept_answer(http::error_response(400, "invalid_request", "bad")));
    EXPECT_TRUE(is_kept_answer(http::error_response(409, "sold_out", "gone")));
    EXPECT_TRUE(is_kept_answer(http::error_response(409, "seats_taken", "gone")));
    EXPECT_FALSE(is_kept_answer(http::error_response(409, ticket_limit_error, "limit")));
    EXPECT_FALSE(is_kept_answer(http::error_response(409, seats_contended_error, "again")));
    EXPECT_FALSE(is_kept_answer(http::error_response(403, "admission_used_up", "join again")));
    EXPECT_FALSE(is_kept_answer(http::error_response(403, "admission_expired", "join again")));
    EXPECT_FALSE(is_kept_answer(http::error_response(403, "admission_missing", "join")));
    EXPECT_TRUE(is_kept_answer(http::error_response(403, "forbidden", "no")));
    EXPECT_FALSE(is_kept_answer(http::error_response(503, "unavailable", "later")));
}

TEST_F(IdempotentCheckoutTest, AFaultReleasesTheKeySoTheRetryRunsAtOnce) {
    calls.fail_next("sessions.save");
    EXPECT_EQ(post("key-1").status, 503u);
    EXPECT_TRUE(sessions.keys.empty());
    const http::Response retry = post("key-1");
    EXPECT_EQ(retry.status, 200u);
    EXPECT_FALSE(replayed(retry));
    EXPECT_EQ(post("key-1").body, retry.body);
}

TEST_F(IdempotentCheckoutTest, AClaimStoreFaultAnswers503AndRunsNoCheckout) {
    calls.fail_next("sessions.claim_key");
    const http::Response refused = post("key-1");
    EXPECT_EQ(refused.status, 503u);
    EXPECT_EQ(http::find_header(refused.headers, "Retry-After"), "1");
    EXPECT_TRUE(ledger.held.empty());
    EXPECT_EQ(post("key-1").status, 200u);
}

// The process dies after the hold, before answering: the key stays claimed (409) until its
// lease ends; the retry then runs a checkout of its own. The first checkout's holds are left to
// time out: its session, written beside them, was never given to anyone.
TEST_F(IdempotentCheckoutTest, AKeyInFlightAnswers409UntilItsLeaseEnds) {
    calls.die_after_next("ledger.hold");
    EXPECT_THROW(post("key-1"), ProcessDied);
    const http::Response busy = post("key-1");
    EXPECT_EQ(busy.status, 409u);
    EXPECT_EQ(error_of(busy), "idempotency_key_in_flight");
    EXPECT_EQ(http::find_header(busy.headers, "Retry-After"), "1");
    EXPECT_EQ(post("key-1", R"({"cls":"B","customer_email":"fan@example.com"})").status, 422u);
    sessions.expire_claims();
    const http::Response retry = post("key-1");
    EXPECT_EQ(retry.status, 200u);
    EXPECT_EQ(ledger.held.size(), 4u);  // Both checkouts' tickets and goodies.
    EXPECT_EQ(sessions.saved.size(), 2u);
    const auto told = std::count_if(sessions.saved.begin(), sessions.saved.end(), [&](auto& row) {
        return retry.body.find(row.first) != std::string::npos;
    });
    EXPECT_EQ(told, 1);  // The retry's session only.
    EXPECT_EQ(post("key-1").body, retry.body);
}

// A failure to record the answer still answers the client; the claim is left to its lease.
TEST_F(IdempotentCheckoutTest, AnAnswerThatCannotBeRecordedIsStillGiven) {
    calls.fail_next("sessions.finish_key");
    EXPECT_EQ(post("key-1").status, 200u);
    EXPECT_EQ(post("key-1").status, 409u);
}

TEST_F(IdempotentCheckoutTest, AMalformedKeyAnswers400AndRunsNoCheckout) {
    const std::string longest(limits::checkout_key_bytes_max, 'k');
    for (const std::string& key :
         {std::string(), longest + "k", std::string("tab\tkey"), std::string("nul\0key", 7),
          std::string("del\x7fkey"), std::string("caf\xc3\xa9")}) {
        SCOPED_TRACE(key);
        const http::Response refused = post(key);
        EXPECT_EQ(refused.status, 400u);
        EXPECT_EQ(error_of(refused), "invalid_idempotency_key");
    }
    EXPECT_TRUE(ledger.held.empty());
    EXPECT_EQ(post(longest).status, 200u);
    EXPECT_EQ(post("a key with spaces ~!").status, 200u);
}

TEST(IdempotencyKey, FingerprintsTheRequestAsParsed) {
    const CheckoutRequest a{TicketClass::a, "fan@example.com"};
    const CheckoutRequest b{TicketClass::b, "fan@example.com"};
    const CheckoutRequest other{TicketClass::a, "fan@example.co"};
    EXPECT_EQ(checkout_fingerprint(a), checkout_fingerprint(a));
    EXPECT_EQ(checkout_fingerprint(a).size(), 64u);
    EXPECT_NE(checkout_fingerprint(a), checkout_fingerprint(b));
    EXPECT_NE(checkout_fingerprint(a), checkout_fingerprint(other));
}

}  // namespace
}  // namespace tigerfans::flows

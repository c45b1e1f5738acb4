// The waiting room end to end over HTTP on every level (the queue in PostgreSQL at level 1, in
// Redis at levels 2 and 3): a fan joins, is admitted, and checks out with the token; checkout
// refuses a missing, forged, expired or used-up token with 403; a pre-queue entry shows no
// place before the opening; a server restart keeps every place; with the waiting room off the
// queue's routes say so and checkout asks for no token.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "support/levels.hpp"
#include "support/run_async.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/queue/admission_token.hpp"
#include "tigerfans/queue/entry.hpp"

namespace tigerfans::testing {
namespace {

using nlohmann::json;

// The secret the level harness starts the server with.
constexpr std::string_view session_secret = "test-session-secret";

class WaitingRoomTest : public LevelTest {
protected:
    // A waiting room whose sale opened an hour ago, admitting `per_second`.
    void start_open_sale(std::uint32_t per_second,
                         std::map<std::string, std::string> overrides = {}) {
        overrides.emplace("WAITING_ROOM", "on");
        overrides.emplace("SALE_OPENS_AT", iso8601_utc(unix_now_us() - 3'600'000'000));
        overrides.emplace("ADMIT_PER_SECOND", std::to_string(per_second));
        settings_ = overrides;
        start_server(overrides);
    }

    // A restart with the settings of the first start.
    void restart() { restart_server(settings_); }
    // The same with one setting changed.
    void restart_with(const std::string& name, const std::string& value) {
        settings_[name] = value;
        restart_server(settings_);
    }

    std::string join() {
        const Reply reply = driver().post("/api/queue/join", "");
        EXPECT_EQ(reply.status, 201u) << reply.body;
        EXPECT_NE(reply.header("Set-Cookie").find("tf_queue="), std::string::npos);
        return json::parse(reply.body, nullptr, false).value("entry_id", "");
    }

    json status(const std::string& entry_id) {
        const Reply reply = driver().get("/api/queue/" + entry_id);
        EXPECT_EQ(reply.status, 200u) << reply.body;
        return json::parse(reply.body, nullptr, false);
    }

    // Polls until the entry is admitted (at most `limit`); answers its last status.
    json wait_for_admission(const std::string& entry_id,
                            std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        json last = status(entry_id);
        while (last.value("state", "") != "admitted" &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            last = status(entry_id);
        }
        return last;
    }

    Reply checkout_with(const std::string& token, const std::string& email = "fan@example.com",
                        const std::string& key = "") {
        http::Headers headers = {{"Content-Type", "application/json"}};
        if (!token.empty()) headers.emplace_back("Admission-Token", token);
        if (!key.empty()) headers.emplace_back("Idempotency-Key", key);
        return driver().post("/api/checkout", json{{"cls", "A"}, {"customer_email", email}}.dump(),
                             headers);
    }

    static boost::asio::awaitable<Reply> checkout_call_with_token(http::Client& client,
                                                                  std::string token, int fan) {
        std::string body =
            json{{"cls", "A"}, {"customer_email", "fan" + std::to_string(fan) + "@example.com"}}
                .dump();
        http::Headers headers = {{"Content-Type", "application/json"},
                                 {"Admission-Token", std::move(token)}};
        co_return to_reply(co_await client.request(http::Method::post, "/api/checkout",
                                                   std::move(body), std::move(headers)));
    }

    static std::string error_of(const Reply& reply) {
        const json body = json::parse(reply.body, nullptr, false);
        return body.is_object() ? body.value("error", "") : "";
    }

private:
    std::map<std::string, std::string> settings_;
};

TEST_P(WaitingRoomTest, AnAdmittedFanChecksOutWithTheTokenAndOnlyWithIt) {
    start_open_sale(1'000, {{"ADMISSION_TICKETS", "2"}});
    const std::string entry = join();
    ASSERT_TRUE(queue::is_entry_id(entry));
    const json admitted = wait_for_admission(entry);
    ASSERT_EQ(admitted.value("state", ""), "admitted") << admitted.dump();
    EXPECT_GE(admitted.value("admitted_seq", 0), 1);
    EXPECT_EQ(admitted.value("tickets", 0), 2);
    EXPECT_EQ(admitted.value("tickets_left", 0), 2);
    const std::string token = admitted.value("token", "");

    const Reply missing = checkout_with("");
    EXPECT_EQ(missing.status, 403u) << missing.body;
    EXPECT_EQ(error_of(missing), "admission_missing");
    std::string forged = token;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    EXPECT_EQ(error_of(checkout_with(forged)), "admission_forged");
    EXPECT_EQ(error_of(checkout_with("v1.not-a-token")), "admission_malformed");
    const std::int64_t now_s = unix_now_us() / 1'000'000;
    const std::string expired = queue::issue_token(queue::admission_key(session_secret),
                                                   queue::admit(entry, now_s - 700, 600, 2));
    EXPECT_EQ(error_of(checkout_with(expired)), "admission_expired");

    EXPECT_EQ(checkout_with(token, "one@example.com").status, 200u);
    EXPECT_EQ(status(entry).value("tickets_left", -1), 1);
    EXPECT_EQ(checkout_with(token, "two@example.com").status, 200u);
    const Reply used_up = checkout_with(token, "three@example.com");
    EXPECT_EQ(used_up.status, 403u) << used_up.body;
    EXPECT_EQ(error_of(used_up), "admission_used_up");
    EXPECT_EQ(status(entry).value("tickets_left", -1), 0);
}

// With COOKIE_SECURE=on every cookie the server sets carries Secure (the queue's entry, the
// admission and the admin session), so a browser never sends them over plain HTTP; without it
// none does.
TEST_P(WaitingRoomTest, EveryCookieCarriesSecureWhenAskedFor) {
    start_open_sale(1'000, {{"COOKIE_SECURE", "on"}});
    const Reply joined = driver().post("/api/queue/join", "");
    ASSERT_EQ(joined.status, 201u) << joined.body;
    EXPECT_NE(joined.header("Set-Cookie").find("; Secure;"), std::string::npos);
    const std::string entry = json::parse(joined.body, nullptr, false).value("entry_id", "");
    ASSERT_EQ(wait_for_admission(entry).value("state", ""), "admitted");
    const Reply admitted = driver().get("/api/queue/" + entry);
    ASSERT_EQ(admitted.status, 200u) << admitted.body;
    EXPECT_TRUE(admitted.header("Set-Cookie").starts_with("tf_admission="));
    EXPECT_NE(admitted.header("Set-Cookie").find("; Secure;"), std::string::npos);
    const Reply login = driver().post_form("/admin/login", "username=admin&password=test-password");
    ASSERT_EQ(login.status, 303u) << login.body;
    EXPECT_NE(login.header("Set-Cookie").find("; HttpOnly; Secure;"), std::string::npos);

    restart_with("COOKIE_SECURE", "off");
    const Reply plain = driver().post("/api/queue/join", "");
    ASSERT_EQ(plain.status, 201u) << plain.body;
    EXPECT_EQ(plain.header("Set-Cookie").find("Secure"), std::string::npos);
}

// A keyed checkout whose answer the fan lost gets it again with the same key after the
// admission expired, or without its token: the stored answer comes before the token's check.
// A refused admission keeps nothing under its key: the same key with a valid token checks out.
TEST_P(WaitingRoomTest, AKeyedRetryGetsItsAnswerAfterTheAdmissionEnds) {
    start_open_sale(1'000, {{"ADMISSION_TICKETS", "2"}});
    const std::string entry = join();
    const std::string token = wait_for_admission(entry).value("token", "");
    ASSERT_FALSE(token.empty());
    const Reply first = checkout_with(token, "keyed@example.com", "retry-key-1");
    ASSERT_EQ(first.status, 200u) << first.body;

    const std::int64_t now_s = unix_now_us() / 1'000'000;
    const std::string expired = queue::issue_token(queue::admission_key(session_secret),
                                                   queue::admit(entry, now_s - 700, 600, 2));
    for (const std::string& late_token : {expired, std::string()}) {
        const Reply again = checkout_with(late_token, "keyed@example.com", "retry-key-1");
        EXPECT_EQ(again.status, 200u) << again.body;
        EXPECT_EQ(again.body, first.body);
        EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
    }
    EXPECT_EQ(status(entry).value("tickets_left", -1), 1);

    const Reply refused = checkout_with(expired, "other@example.com", "retry-key-2");
    EXPECT_EQ(refused.status, 403u) << refused.body;
    EXPECT_EQ(error_of(refused), "admission_expired");
    const Reply admitted = checkout_with(token, "other@example.com", "retry-key-2");
    EXPECT_EQ(admitted.status, 200u) << admitted.body;
    EXPECT_EQ(admitted.header("Idempotent-Replayed"), "");
    EXPECT_EQ(status(entry).value("tickets_left", -1), 0);
}

// A checkout that holds nothing gives its admission's ticket back.
TEST_P(WaitingRoomTest, ACheckoutThatHoldsNothingCostsNoTicket) {
    start_open_sale(1'000, {{"ADMISSION_TICKETS", "1"}, {"CAPACITY_A", "1"}});
    const std::string first = join();
    const std::string second = join();
    const std::string first_token = wait_for_admission(first).value("token", "");
    const std::string second_token = wait_for_admission(second).value("token", "");
    ASSERT_EQ(checkout_with(first_token, "first@example.com").status, 200u);
    const Reply sold_out = checkout_with(second_token, "second@example.com");
    EXPECT_EQ(sold_out.status, 409u) << sold_out.body;
    EXPECT_EQ(status(second).value("tickets_left", -1), 1);
}

// Of many concurrent checkouts with one token, only as many as it allows get through.
TEST_P(WaitingRoomTest, ConcurrentCheckoutsWithOneTokenTakeAtMostItsTickets) {
    start_open_sale(1'000, {{"ADMISSION_TICKETS", "3"}});
    const std::string token = wait_for_admission(join()).value("token", "");
    ASSERT_FALSE(token.empty());
    const auto replies = driver().run_concurrently(
        30, 30, [&token](int i, http::Client& client) -> boost::asio::awaitable<Reply> {
            return checkout_call_with_token(client, token, i);
        });
    int accepted = 0, used_up = 0;
    for (const Reply& reply : replies) {
        if (reply.status == 200u) accepted++;
        if (reply.status == 403u && error_of(reply) == "admission_used_up") used_up++;
    }
    EXPECT_EQ(accepted, 3);
    EXPECT_EQ(used_up, 27);
}

// Before the opening a pre-queue entry shows no place; once the sale opens every entry is
// admitted exactly once. The opening is set before the stores start, and starting a TigerBeetle
// replica alone can take seconds: it lies far enough ahead for the first status to come before.
TEST_P(WaitingRoomTest, PrequeueEntriesShowNoPlaceUntilTheOpeningThenAreAdmittedOnce) {
    start_server({{"WAITING_ROOM", "on"},
                  {"SALE_OPENS_AT", iso8601_utc(unix_now_us() + 10'000'000)},
                  {"ADMIT_PER_SECOND", "1000"}});
    std::vector<std::string> entries;
    for (int i = 0; i < 20; ++i) entries.push_back(join());
    const json early = status(entries.front());
    EXPECT_EQ(early.value("state", ""), "prequeue") << early.dump();
    EXPECT_FALSE(early.contains("position"));
    EXPECT_GE(early.value("sale_opens_in_s", 0), 1);
    std::set<std::int64_t> seqs;
    for (const std::string& entry : entries) {
        const json admitted = wait_for_admission(entry, std::chrono::seconds(20));
        ASSERT_EQ(admitted.value("state", ""), "admitted") << admitted.dump();
        seqs.insert(admitted.value("admitted_seq", std::int64_t{0}));
    }
    EXPECT_EQ(seqs.size(), entries.size());
}

// Entries joined while admission is slow keep their order across a server restart.
TEST_P(WaitingRoomTest, ARestartKeepsEveryPlace) {
    start_open_sale(1);
    std::vector<std::string> entries;
    for (int i = 0; i < 12; ++i) entries.push_back(join());
    restart();
    std::int64_t last_position = 0;
    std::size_t waiting = 0;
    for (const std::string& entry : entries) {
        const json now = status(entry);
        if (now.value("state", "") != "waiting") continue;  // Admitted meanwhile, first ones.
        const std::int64_t position = now.value("position", std::int64_t{0});
        EXPECT_GT(position, last_position) << "the join order is the queue's order";
        last_position = position;
        waiting++;
    }
    EXPECT_GE(waiting, 8u);
}

TEST_P(WaitingRoomTest, UnknownAndMalformedEntriesAreClearErrors) {
    start_open_sale(10);
    const Reply unknown = driver().get("/api/queue/" + std::string(32, 'a'));
    EXPECT_EQ(unknown.status, 404u);
    EXPECT_EQ(error_of(unknown), "unknown_entry");
    const Reply malformed = driver().get("/api/queue/not-an-id");
    EXPECT_EQ(malformed.status, 400u);
    EXPECT_EQ(error_of(malformed), "invalid_entry_id");
}

// A fan whose cookie names a waiting entry keeps it when joining again; another site's page
// cannot make its visitors join.
TEST_P(WaitingRoomTest, AJoinAgainKeepsThePlaceAndACrossSiteJoinIsRefused) {
    start_open_sale(1);
    join();  // Someone ahead, so the next entry waits.
    const std::string entry = join();
    const Reply again = driver().post("/api/queue/join", "", {{"Cookie", "tf_queue=" + entry}});
    EXPECT_EQ(again.status, 200u) << again.body;
    EXPECT_EQ(json::parse(again.body, nullptr, false).value("entry_id", ""), entry);
    const Reply unknown =
        driver().post("/api/queue/join", "", {{"Cookie", "tf_queue=" + std::string(32, 'b')}});
    EXPECT_EQ(unknown.status, 201u) << unknown.body;
    const Reply cross_site =
        driver().post("/api/queue/join", "", {{"Origin", "http://evil.example"}});
    EXPECT_EQ(cross_site.status, 403u) << cross_site.body;
}

// Past QUEUE_WAITING_MAX waiting entries a new join is refused (503 with Retry-After), still
// so once a step has read the store's count; a fan already waiting keeps the place. In the
// pre-queue, so nobody is admitted meanwhile.
TEST_P(WaitingRoomTest, JoinsPastTheWaitingCapAreRefusedAndTheWaitingKeepTheirPlaces) {
    start_server({{"WAITING_ROOM", "on"},
                  {"SALE_OPENS_AT", iso8601_utc(unix_now_us() + 600'000'000)},
                  {"QUEUE_WAITING_MAX", "3"}});
    const std::string first = join();
    join();
    join();
    for (int attempt = 0; attempt < 2; attempt++) {
        const Reply full = driver().post("/api/queue/join", "");
        EXPECT_EQ(full.status, 503u) << full.body;
        EXPECT_EQ(error_of(full), "queue_full");
        EXPECT_EQ(full.header("Retry-After"), "60");
        // A step reads the store's count (once a second) before the second attempt.
        if (attempt == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    }
    const Reply again = driver().post("/api/queue/join", "", {{"Cookie", "tf_queue=" + first}});
    EXPECT_EQ(again.status, 200u) << again.body;
}

TEST_P(WaitingRoomTest, WithTheWaitingRoomOffCheckoutAsksForNoToken) {
    start_server();
    const Reply join_reply = driver().post("/api/queue/join", "");
    EXPECT_EQ(join_reply.status, 404u);
    EXPECT_EQ(error_of(join_reply), "waiting_room_off");
    EXPECT_EQ(checkout_with("").status, 200u);
}

INSTANTIATE_TEST_SUITE_P(Levels, WaitingRoomTest, ::testing::ValuesIn(all_levels()), level_name);

}  // namespace
}  // namespace tigerfans::testing

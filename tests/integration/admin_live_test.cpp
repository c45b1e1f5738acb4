// The admin's live view and admission controls through the real server (level 1): samples a
// second of checkouts, sales, holds, stock and latency; pausing, resuming and pacing admission;
// bad bodies, missing logins and cross-site posts refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/levels.hpp"
#include "support/process.hpp"

namespace tigerfans::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class AdminLiveTest : public LevelTest {
protected:
    static json body_of(const Reply& reply) { return json::parse(reply.body, nullptr, false); }

    json live(const std::string& query = "") {
        const Reply reply = driver().get("/api/admin/live" + query, admin_basic());
        EXPECT_EQ(reply.status, 200u) << reply.body;
        return body_of(reply);
    }

    Reply change(const std::string& body, http::Headers headers = admin_basic()) {
        headers.emplace_back("Content-Type", "application/json");
        return driver().post("/api/admin/admission", body, std::move(headers));
    }

    // Waits (up to a few samples) for a sample that `wanted` accepts; returns it, or null.
    json sample_where(const std::function<bool(const json&)>& wanted) {
        json found;
        wait_until(
            [&] {
                const json answer = live();
                for (const json& sample : answer["samples"]) {
                    if (wanted(sample)) found = sample;
                }
                return !found.is_null();
            },
            8s);
        return found;
    }
};

TEST_P(AdminLiveTest, SamplesShowCheckoutsSalesHoldsStockAndLatency) {
    start_server({{"CAPACITY_A", "10"}, {"CAPACITY_B", "20"}, {"ADMIT_PER_SECOND", "40"}});
    const json first = live();
    EXPECT_EQ(first["interval_ms"], 1000);
    EXPECT_EQ(first["admission"], (json{{"enabled", false},
                                        {"paused", false},
                                        {"per_second", 40},
                                        {"waiting", 0},
                                        {"admitted", 0}}));

    const Reply checkout = driver().post_json(
        "/api/checkout", json{{"cls", "A"}, {"customer_email", "live@example.com"}}.dump());
    ASSERT_EQ(checkout.status, 200u) << checkout.body;
    const json held = sample_where([](const json& s) { return s["active_holds"] == 1; });
    ASSERT_FALSE(held.is_null()) << live().dump();
    EXPECT_EQ(held["stock_left"], (json{{"A", 9}, {"B", 20}}));
    EXPECT_FALSE(sample_where([](const json& s) { return s["checkouts_per_s"] > 0; }).is_null());
    EXPECT_FALSE(sample_where([](const json& s) { return s["p99_ms"].is_number(); }).is_null());

    const std::string redirect = body_of(checkout)["redirect_url"];
    const std::string psid = redirect.substr(std::string("/mockpay/").size());
    ASSERT_EQ(driver().post_form("/mockpay/" + psid + "/emit", "t=succeeded").status, 303u);
    const json sold = sample_where([](const json& s) {
        return s["active_holds"] == 0 && s["stock_left"] == json{{"A", 9}, {"B", 20}};
    });
    EXPECT_FALSE(sold.is_null()) << live().dump();
    EXPECT_FALSE(sample_where([](const json& s) { return s["sales_per_s"] > 0; }).is_null());

    // Every sample has every figure; only the samples after a stamp come with since_ms.
    const json all = live()["samples"];
    ASSERT_GE(all.size(), 2u);
    for (const char* key :
         {"t_ms", "queue_length", "admitted_per_s", "target_per_s", "paused", "checkouts_per_s",
          "sales_per_s", "active_holds", "stock_left", "p99_ms"}) {
        EXPECT_TRUE(all.back().contains(key)) << key;
    }
    EXPECT_EQ(all.back()["target_per_s"], 40);
    const std::int64_t second_last = all[all.size() - 2]["t_ms"];
    const json newer = live("?since_ms=" + std::to_string(second_last));
    for (const json& sample : newer["samples"]) {
        EXPECT_GT(sample["t_ms"].get<std::int64_t>(), second_last);
    }
    EXPECT_TRUE(live("?since_ms=" +
                     std::to_string(all.back()["t_ms"].get<std::int64_t>() + 60'000))["samples"]
                    .empty());
    const Reply bad_since = driver().get("/api/admin/live?since_ms=soon", admin_basic());
    EXPECT_EQ(bad_since.status, 400u);
    EXPECT_EQ(body_of(bad_since)["error"], "bad_request");
}

TEST_P(AdminLiveTest, AnAdminPausesResumesAndPacesAdmission) {
    start_server();
    Reply paused = change(R"({"paused": true})");
    ASSERT_EQ(paused.status, 200u) << paused.body;
    EXPECT_EQ(body_of(paused)["paused"], true);
    EXPECT_EQ(body_of(paused)["per_second"], 50);  // ADMIT_PER_SECOND's default.
    EXPECT_EQ(live()["admission"]["paused"], true);
    EXPECT_FALSE(sample_where([](const json& s) { return s["paused"] == true; }).is_null());

    const Reply resumed = change(R"({"paused": false, "per_second": 7})");
    ASSERT_EQ(resumed.status, 200u) << resumed.body;
    EXPECT_EQ(body_of(resumed)["paused"], false);
    EXPECT_EQ(body_of(resumed)["per_second"], 7);
    const json paced =
        sample_where([](const json& s) { return s["target_per_s"] == 7 && s["paused"] == false; });
    EXPECT_FALSE(paced.is_null()) << live().dump();
}

TEST_P(AdminLiveTest, BadChangesAreRefusedAndChangeNothing) {
    start_server();
    for (const char* body :
         {"", "not json", "[]", R"({})", R"({"paused": "yes"})", R"({"per_second": 0})",
          R"({"per_second": 1000001})", R"({"per_second": 2.5})", R"({"paused": true, "x": 1})"}) {
        const Reply refused = change(body);
        EXPECT_EQ(refused.status, 400u) << body;
        EXPECT_EQ(body_of(refused)["error"], "bad_request") << body;
        EXPECT_TRUE(body_of(refused)["detail"].is_string()) << body;
    }
    const json admission = live()["admission"];
    EXPECT_EQ(admission["paused"], false);
    EXPECT_EQ(admission["per_second"], 50);
}

TEST_P(AdminLiveTest, TheRoutesNeedAnAdminAndAPostFromThisSite) {
    start_server();
    EXPECT_EQ(driver().get("/api/admin/live").status, 401u);
    EXPECT_EQ(driver().get("/api/admin/live", admin_basic("wrong")).status, 401u);
    const Reply anonymous = change(R"({"paused": true})", {});
    EXPECT_EQ(anonymous.status, 401u);
    EXPECT_EQ(body_of(anonymous)["error"], "unauthorized");
    EXPECT_EQ(driver().get("/api/admin/admission", admin_basic()).status, 405u);

    const Reply login =
        driver().post_form("/admin/login", "username=admin&password=test-password&next=%2Fadmin");
    ASSERT_EQ(login.status, 303u);
    const std::string set_cookie(login.header("Set-Cookie"));
    const http::Headers cookie = {{"Cookie", set_cookie.substr(0, set_cookie.find(';'))}};
    EXPECT_EQ(driver().get("/api/admin/live", cookie).status, 200u);
    http::Headers foreign = cookie;
    foreign.emplace_back("Origin", "http://evil.example");
    const Reply cross_site = change(R"({"paused": true})", foreign);
    EXPECT_EQ(cross_site.status, 403u);
    EXPECT_EQ(body_of(cross_site)["error"], "forbidden");
    EXPECT_EQ(live()["admission"]["paused"], false);
    const Reply same_site = change(R"({"paused": true})", cookie);
    EXPECT_EQ(same_site.status, 200u) << same_site.body;
    EXPECT_EQ(live()["admission"]["paused"], true);
}

INSTANTIATE_TEST_SUITE_P(Level1, AdminLiveTest, ::testing::Values(Level{"pg_pg", "pg", "pg"}),
                         level_name);

}  // namespace
}  // namespace tigerfans::testing

// Admin cookies and Basic auth, safe redirects, MockPay's signed events, QR codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "tigerfans/admin/auth.hpp"
#include "tigerfans/admin/login_throttle.hpp"
#include "tigerfans/app/qr.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/flows/webhook.hpp"
#include "tigerfans/mockpay/mockpay.hpp"

namespace tigerfans {
namespace {

const admin::Auth auth("admin", "supasecret", "cookie-key");

TEST(AdminAuth, IssuedTokensVerifyUntilTheyExpire) {
    const std::string token = auth.issue_token("admin", 2000);
    EXPECT_EQ(auth.verify_token(token, 1999), "admin");
    EXPECT_FALSE(auth.verify_token(token, 2000));
}

// Two logins of one user in one second get tokens of their own, so a logout ends only its own.
TEST(AdminAuth, EachLoginGetsATokenOfItsOwn) {
    const std::string first = auth.issue_token("admin", 2000);
    const std::string second = auth.issue_token("admin", 2000);
    EXPECT_NE(first, second);
    EXPECT_EQ(auth.verify_token(first, 1000), "admin");
    EXPECT_EQ(auth.verify_token(second, 1000), "admin");
}

TEST(AdminAuth, TamperedOrForeignTokensAreRejected) {
    std::string token = auth.issue_token("admin", 2000);
    token[0] = token[0] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(auth.verify_token(token, 1000));
    const admin::Auth other("admin", "supasecret", "another-key");
    EXPECT_FALSE(auth.verify_token(other.issue_token("admin", 2000), 1000));
    EXPECT_FALSE(auth.verify_token("garbage", 1000));
}

TEST(AdminAuth, BasicCredentialsAndCookiesBothAuthenticate) {
    http::Request basic;
    basic.headers = {{"Authorization", "Basic " + base64_encode("admin:supasecret")}};
    EXPECT_TRUE(auth.is_admin(basic));
    http::Request wrong;
    wrong.headers = {{"Authorization", "Basic " + base64_encode("admin:nope")}};
    EXPECT_FALSE(auth.is_admin(wrong));
    const std::string set_cookie = auth.login_cookie("admin", false);
    EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(set_cookie.find("SameSite=Lax"), std::string::npos);
    EXPECT_EQ(set_cookie.find("Secure"), std::string::npos);
    EXPECT_NE(auth.login_cookie("admin", true).find("; Secure"), std::string::npos);
    EXPECT_EQ(admin::Auth::logout_cookie(true),
              "tf_admin=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
    http::Request with_cookie;
    with_cookie.headers = {{"Cookie", "x=1; " + set_cookie.substr(0, set_cookie.find(';'))}};
    EXPECT_TRUE(auth.is_admin(with_cookie));
    EXPECT_FALSE(auth.is_admin(http::Request{}));
}

// Two session cookies of one name (a stale one set for another path comes first): the valid
// one authenticates, in whichever Cookie field it comes, and a logout revokes both.
TEST(AdminAuth, AnyValidSessionCookieAuthenticatesAndALogoutEndsThemAll) {
    admin::Auth own("admin", "supasecret", "cookie-key");
    const std::string set_cookie = own.login_cookie("admin", false);
    const std::string good = set_cookie.substr(0, set_cookie.find(';'));
    const std::string name = good.substr(0, good.find('='));
    const std::string other = own.login_cookie("admin", false);
    const std::string second = other.substr(0, other.find(';'));
    http::Request stale_first;
    stale_first.headers = {{"Cookie", name + "=stale; x=1"}, {"cookie", good + "; " + second}};
    EXPECT_TRUE(own.is_admin(stale_first));
    own.revoke(stale_first);
    EXPECT_FALSE(own.is_admin(stale_first));
    http::Request only_second;
    only_second.headers = {{"Cookie", second}};
    EXPECT_FALSE(own.is_admin(only_second));
}

http::Request basic_request(const std::string& pair, const std::string& address) {
    http::Request request;
    request.headers = {{"Authorization", "Basic " + base64_encode(pair)}};
    request.remote_address = address;
    return request;
}

TEST(AdminAuth, WrongBasicCredentialsAreThrottledLikeTheLoginForm) {
    admin::LoginThrottle throttle;
    const admin::Auth guarded("admin", "supasecret", "cookie-key", &throttle);
    // The throttle counts on the steady clock, never the wall clock (which can be stepped).
    const auto now_us = [] { return steady_now_us(); };
    const http::Request right = basic_request("admin:supasecret", "10.0.0.1");
    EXPECT_TRUE(guarded.is_admin(right));
    const http::Request elsewhere = basic_request("admin:supasecret", "10.0.0.5");
    EXPECT_TRUE(guarded.is_admin(elsewhere));
    for (int i = 0; i <= limits::admin_login_free_failures; i++) {
        EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", now_us()), 0);
        EXPECT_FALSE(
            guarded.is_admin(basic_request("admin:guess" + std::to_string(i), "10.0.0.1")));
    }
    EXPECT_GT(throttle.wait_s("10.0.0.1", "admin", now_us()), 0);  // The Basic guesses counted.
    // A longer block (as after more guesses), so the checks below cannot outlive it.
    for (int i = 0; i < 3; i++) throttle.failed("10.0.0.1", "admin", now_us());
    // Blocked: even the right password from that address is refused, and so is that user name
    // from anywhere the right password has not come from; another user name from another
    // address is merely wrong.
    EXPECT_FALSE(guarded.is_admin(right));
    EXPECT_FALSE(guarded.is_admin(basic_request("admin:supasecret", "10.0.0.2")));
    EXPECT_TRUE(guarded.is_admin(elsewhere));
    EXPECT_FALSE(guarded.is_admin(basic_request("root:x", "10.0.0.3")));
    EXPECT_EQ(throttle.wait_s("10.0.0.3", "root", now_us()), 0);
    // Malformed headers are guesses too.
    for (int i = 0; i <= limits::admin_login_free_failures; i++) {
        http::Request garbage;
        garbage.headers = {{"Authorization", "Basic %%%"}};
        garbage.remote_address = "10.0.0.4";
        EXPECT_FALSE(guarded.is_admin(garbage));
    }
    EXPECT_GT(throttle.wait_s("10.0.0.4", "x", now_us()), 0);
}

TEST(AdminAuth, LoginRedirectsStayOnThisSite) {
    EXPECT_EQ(admin::safe_next("/admin"), "/admin");
    EXPECT_EQ(admin::safe_next("//evil.example/"), "/admin");
    EXPECT_EQ(admin::safe_next("https://evil.example/"), "/admin");
    EXPECT_EQ(admin::safe_next("/\\evil"), "/admin");
    // After form decoding "%09" is a tab, which browsers drop: "/\t/evil" would be "//evil".
    EXPECT_EQ(admin::safe_next("/\t/evil.example"), "/admin");
    EXPECT_EQ(admin::safe_next("/\n/evil.example"), "/admin");
    EXPECT_EQ(admin::safe_next("/ /evil.example"), "/admin");
    EXPECT_EQ(admin::safe_next("/admin\r\nSet-Cookie: x=1"), "/admin");
    EXPECT_EQ(admin::safe_next(""), "/admin");
    EXPECT_EQ(admin::safe_next("/"), "/");
    EXPECT_EQ(admin::safe_next("/admin?tab=orders"), "/admin?tab=orders");
}

// A few wrong passwords are free; then each failure blocks the address, and the user name from
// any address, twice as long as the one before; a right password clears both.
TEST(LoginThrottle, BlocksAfterFreeFailuresDoublingPerAddressAndPerUser) {
    admin::LoginThrottle throttle;
    constexpr std::int64_t second = 1'000'000;
    const std::int64_t now = 1'000 * second;
    for (int i = 0; i < limits::admin_login_free_failures; i++) {
        EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", now), 0);
        throttle.failed("10.0.0.1", "admin", now);
    }
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", now), 0);
    throttle.failed("10.0.0.1", "admin", now);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", now), 1);
    throttle.failed("10.0.0.1", "admin", now + second);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", now + second), 2);
    EXPECT_EQ(throttle.wait_s("10.0.0.2", "admin", now + second), 2);  // Same user elsewhere.
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "other", now + second), 2);  // Same address.
    EXPECT_EQ(throttle.wait_s("10.0.0.2", "other", now + second), 0);
    for (int i = 0; i < 40; i++) throttle.failed("10.0.0.1", "admin", now + second);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", now + second), limits::admin_login_block_max_s);
    throttle.succeeded("10.0.0.1", "admin", now + second);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", now + second), 0);
}

// An admin who logs in with Basic credentials at every poll does not reset what a guesser at
// another address counted against the same user name: the success forgives only the failures
// made from its own address.
TEST(LoginThrottle, ARightPasswordForgivesOnlyTheFailuresOfItsOwnAddress) {
    admin::LoginThrottle throttle;
    constexpr std::int64_t second = 1'000'000;
    const std::int64_t now = 1'000 * second;
    throttle.failed("10.0.0.1", "admin", now);  // The admin's own typo.
    for (int i = 0; i < limits::admin_login_free_failures - 1; i++)
        throttle.failed("10.0.0.2", "admin", now);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", now), 0);
    throttle.succeeded("10.0.0.1", "admin", now);
    throttle.failed("10.0.0.2", "admin", now);
    EXPECT_EQ(throttle.wait_s("10.0.0.3", "admin", now), 0);  // Five failures: all free.
    throttle.failed("10.0.0.2", "admin", now);
    EXPECT_EQ(throttle.wait_s("10.0.0.3", "admin", now), 1);
    throttle.succeeded("10.0.0.2", "admin", now);  // The guesser's own success clears its count.
    EXPECT_EQ(throttle.wait_s("10.0.0.3", "admin", now), 0);
}

// A full table of user names, every one blocked, starts afresh, while the address-and-name
// counts stay: the admin's six failures from its own address were counted in the user entry
// that went, so its later success must not take them from the new entry, where a guesser's
// failures are. Otherwise the guesser would get six more free tries.
TEST(LoginThrottle, ASuccessForgivesNothingOfAUserEntryItsFailuresWereNotCountedIn) {
    admin::LoginThrottle throttle;
    constexpr std::int64_t second = 1'000'000;
    const std::int64_t now = 1'000 * second;
    const int blocking = limits::admin_login_free_failures + 1;
    for (int i = 0; i < blocking; i++) throttle.failed("10.0.0.1", "admin", now);
    // Each other name blocked too, by failures from addresses of their own (so the counts per
    // address and name are never blocked, and a full table of them forgets them first).
    for (std::size_t name = 0; name < limits::admin_login_tracked_keys_max; name++) {
        for (int i = 0; i < blocking; i++) {
            throttle.failed("10.1.0." + std::to_string(i), "n" + std::to_string(name), now);
        }
    }
    for (int i = 0; i < limits::admin_login_free_failures; i++) {
        throttle.failed("10.9.9.9", "admin", now);
    }
    EXPECT_EQ(throttle.wait_s("10.8.8.8", "admin", now), 0);  // The old entry went.
    throttle.succeeded("10.0.0.1", "admin", now);
    throttle.failed("10.9.9.9", "admin", now);
    EXPECT_EQ(throttle.wait_s("10.8.8.8", "admin", now), 1);
}

// A guesser elsewhere who keeps the user name blocked does not lock the admin out of an address
// the right password came from: that address passes the name's block for a month after its
// latest success (well past the session its login gave), though never its own block. Other
// addresses stay held back.
TEST(LoginThrottle, AnAddressTheRightPasswordCameFromPassesTheUserNamesBlock) {
    admin::LoginThrottle throttle;
    constexpr std::int64_t second = 1'000'000;
    const std::int64_t now = 1'000 * second;
    throttle.succeeded("10.0.0.1", "admin", now);
    for (int i = 0; i < 40; i++) throttle.failed("10.0.0.2", "admin", now);
    const std::int64_t longest = limits::admin_login_block_max_s;
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", now), 0);
    EXPECT_EQ(throttle.wait_s("10.0.0.3", "admin", now), longest);
    EXPECT_EQ(throttle.wait_s("10.0.0.2", "admin", now), longest);
    // Trusted for its name only...
    for (int i = 0; i <= limits::admin_login_free_failures; i++)
        throttle.failed("10.0.0.9", "other", now);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "other", now), 1);
    // ...and its own failures still block it.
    for (int i = 0; i <= limits::admin_login_free_failures; i++)
        throttle.failed("10.0.0.1", "admin", now);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", now), 1);
    throttle.succeeded("10.0.0.1", "admin", now);
    // Past the session its login gave, the address is still trusted; the trust ends
    // limits::admin_login_trust_s after the latest success.
    const std::int64_t session_end = now + std::int64_t{limits::admin_session_ttl_s} * second;
    throttle.failed("10.0.0.2", "admin", session_end);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", session_end), 0);
    EXPECT_EQ(throttle.wait_s("10.0.0.3", "admin", session_end), longest);
    const std::int64_t later = now + limits::admin_login_trust_s * second;
    throttle.failed("10.0.0.2", "admin", later - second);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", later - second), 0);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", later), longest - 1);
}

// The addresses trusted for a name are bounded: past the most, the one trusted longest ago is
// forgotten first.
TEST(LoginThrottle, TrustsAFewAddressesPerUserNameTheOldestForgottenFirst) {
    admin::LoginThrottle throttle;
    constexpr std::int64_t second = 1'000'000;
    const std::int64_t now = 1'000 * second;
    const auto address = [](std::size_t i) { return "10.0.2." + std::to_string(i); };
    for (std::size_t i = 0; i <= limits::admin_login_trusted_addresses_max; i++) {
        throttle.succeeded(address(i), "admin", now + static_cast<std::int64_t>(i) * second);
    }
    const std::int64_t after = now + 100 * second;
    for (int i = 0; i < 40; i++) throttle.failed("10.0.0.2", "admin", after);
    EXPECT_GT(throttle.wait_s(address(0), "admin", after), 0);
    for (std::size_t i = 1; i <= limits::admin_login_trusted_addresses_max; i++) {
        EXPECT_EQ(throttle.wait_s(address(i), "admin", after), 0) << address(i);
    }
}

// A full table of user names, every one blocked, starts afresh but keeps the entries of names a
// right password was given for: a guesser of the real name who fills the table with junk names
// gets no fresh free tries against it.
TEST(LoginThrottle, AFullTableKeepsTheBlocksOfUserNamesWithARightPassword) {
    admin::LoginThrottle throttle;
    constexpr std::int64_t second = 1'000'000;
    const std::int64_t now = 1'000 * second;
    throttle.succeeded("10.0.0.1", "admin", now);
    const int blocking = limits::admin_login_free_failures + 1;
    for (int i = 0; i < blocking; i++) throttle.failed("10.0.0.2", "admin", now);
    for (std::size_t name = 0; name < limits::admin_login_tracked_keys_max; name++) {
        for (int i = 0; i < blocking; i++) {
            throttle.failed("10.1.0." + std::to_string(i), "n" + std::to_string(name), now);
        }
    }
    EXPECT_EQ(throttle.wait_s("10.8.8.8", "admin", now), 1);
    EXPECT_EQ(throttle.wait_s("10.8.8.8", "n0", now), 0);  // A junk name's entry went.
}

// Every address of an IPv6 /64 counts as one (one site holds the whole network); an
// IPv4-mapped address counts as its IPv4 one.
TEST(LoginThrottle, CountsAnIpv6NetworkAsOneAddress) {
    admin::LoginThrottle throttle;
    constexpr std::int64_t second = 1'000'000;
    const std::int64_t now = 1'000 * second;
    for (int i = 0; i <= limits::admin_login_free_failures; i++)
        throttle.failed("2001:db8:0:1::" + std::to_string(i + 1), "name" + std::to_string(i), now);
    EXPECT_EQ(throttle.wait_s("2001:db8:0:1:ffff::9", "someone", now), 1);
    EXPECT_EQ(throttle.wait_s("2001:db8:0:2::1", "someone", now), 0);
    for (int i = 0; i <= limits::admin_login_free_failures; i++)
        throttle.failed("::ffff:10.0.0.7", "x" + std::to_string(i), now);
    EXPECT_EQ(throttle.wait_s("10.0.0.7", "someone", now), 1);
}

// User names longer than any real one are counted under one key (the table's keys stay
// small): failures with different such names from different addresses add up; a name of the
// longest kept length still has a count of its own.
TEST(LoginThrottle, CountsEveryOverlongUserNameAsOne) {
    admin::LoginThrottle throttle;
    constexpr std::int64_t second = 1'000'000;
    const std::int64_t now = 1'000 * second;
    const std::size_t longest = limits::admin_login_username_key_bytes_max;
    for (int i = 0; i <= limits::admin_login_free_failures; i++) {
        const std::string address = "10.0.1." + std::to_string(i);
        throttle.failed(address, std::string(longest + 1 + i, 'a'), now);
    }
    EXPECT_EQ(throttle.wait_s("10.0.2.1", std::string(64 * 1024, 'b'), now), 1);
    EXPECT_EQ(throttle.wait_s("10.0.2.1", std::string(longest, 'a'), now), 0);
    EXPECT_EQ(throttle.wait_s("10.0.2.1", "admin", now), 0);
    // A success under another overlong name forgives the failure its address made: the next
    // failure is the sixth, not the seventh, and blocks for one second.
    throttle.succeeded("10.0.1.0", std::string(longest + 7, 'c'), now);
    throttle.failed("10.0.2.1", std::string(longest + 1, 'a'), now + second);
    EXPECT_EQ(throttle.wait_s("10.0.2.2", std::string(longest + 1, 'a'), now + second), 1);
}

// A block lasts its whole length from the failure, not until the next whole second: a failure
// late in a second still blocks a moment after that second ends, and the wait rounds up.
TEST(LoginThrottle, ABlockLastsItsFullLengthWhateverTheFractionOfASecond) {
    admin::LoginThrottle throttle;
    constexpr std::int64_t second = 1'000'000;
    const std::int64_t late = 1'000 * second + 999'000;
    for (int i = 0; i <= limits::admin_login_free_failures; i++)
        throttle.failed("10.0.0.1", "admin", late);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", late + 2'000), 1);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", late + second - 1), 1);
    EXPECT_EQ(throttle.wait_s("10.0.0.1", "admin", late + second), 0);
}

// The shop verifies exactly what MockPay signs; a changed byte or secret fails.
TEST(MockPay, EventsVerifyWithTheSharedSecretOnly) {
    mockpay::PaymentEvent paid;
    paid.outcome = mockpay::PaymentOutcome::succeeded;
    paid.payment_session_id = "mock_abc";
    paid.order_id = "0123456789abcdef0123456789abcdef";
    paid.amount_cents = 6500;
    paid.currency = "eur";
    paid.created_at_s = 1700000000;
    paid.idempotency_key = "evt_1";
    paid.cls = "B";
    paid.customer_email = "fan@example.com";
    const std::string body = mockpay::event_json(paid);
    EXPECT_EQ(body,
              R"({"amount":6500,"cls":"B","created_at":1700000000,"currency":"eur",)"
              R"("customer_email":"fan@example.com","idempotency_key":"evt_1",)"
              R"("order_id":"0123456789abcdef0123456789abcdef","payment_session_id":"mock_abc",)"
              R"("type":"payment.succeeded"})");
    const std::string signature = mockpay::signature("supersecret", body);
    const auto verified = flows::verify_webhook("supersecret", body, signature);
    ASSERT_TRUE(std::holds_alternative<flows::WebhookEvent>(verified));
    const auto& event = std::get<flows::WebhookEvent>(verified);
    EXPECT_EQ(event.payment_session_id, "mock_abc");
    EXPECT_EQ(event.idempotency_key, "evt_1");
    EXPECT_EQ(event.outcome, flows::PaymentOutcome::succeeded);
    ASSERT_TRUE(event.order.has_value());
    EXPECT_EQ(event.order->order_id, paid.order_id);
    EXPECT_EQ(event.order->cls, TicketClass::b);
    EXPECT_EQ(event.order->amount_cents, 6500);
    EXPECT_EQ(event.order->currency, "eur");
    EXPECT_EQ(event.order->customer_email, "fan@example.com");
    EXPECT_EQ(event.order->created_at_s, 1700000000);
    EXPECT_TRUE(std::holds_alternative<flows::WebhookRejected>(
        flows::verify_webhook("other", body, signature)));
    std::string changed = body;
    changed[changed.size() - 2] = 'x';
    EXPECT_TRUE(std::holds_alternative<flows::WebhookRejected>(
        flows::verify_webhook("supersecret", changed, signature)));
    EXPECT_TRUE(std::holds_alternative<flows::WebhookRejected>(
        flows::verify_webhook("supersecret", body, "")));
}

// What an event says of its order is only needed when its session is gone: an event lacking any
// of it, or with any of it malformed, still settles its session, only without that account.
TEST(MockPay, AnEventsOrderIsTakenOnlyWhenEveryFieldIsSound) {
    const nlohmann::json whole = {{"type", "payment.succeeded"},
                                  {"payment_session_id", "mock_abc"},
                                  {"order_id", "0123456789abcdef0123456789abcdef"},
                                  {"cls", "A"},
                                  {"amount", 6500},
                                  {"currency", "eur"},
                                  {"customer_email", "fan@example.com"},
                                  {"created_at", 1700000000}};
    const auto order_of = [](const nlohmann::json& json) {
        const std::string body = json.dump();
        const auto verified = flows::verify_webhook("k", body, mockpay::signature("k", body));
        EXPECT_TRUE(std::holds_alternative<flows::WebhookEvent>(verified)) << body;
        return std::holds_alternative<flows::WebhookEvent>(verified)
                   ? std::get<flows::WebhookEvent>(verified).order
                   : std::nullopt;
    };
    EXPECT_TRUE(order_of(whole).has_value());
    for (const auto& [field, bad] : std::vector<std::pair<std::string, nlohmann::json>>{
             {"order_id", "0123"},
             {"order_id", 7},
             {"cls", "C"},
             {"amount", "6500"},
             {"amount", -1},
             {"amount", 6500.5},
             {"amount", 18446744073709551615ull},
             {"currency", "usd"},
             {"customer_email", "not an email"},
             {"created_at", -5},
             {"created_at", 9223372036854775807ll}}) {
        nlohmann::json changed = whole;
        changed[field] = bad;
        EXPECT_FALSE(order_of(changed).has_value()) << field << " " << bad.dump();
        changed.erase(field);
        EXPECT_FALSE(order_of(changed).has_value()) << field << " missing";
    }
}

TEST(MockPay, SignedButMalformedEventsAreRejectedAsBadInput) {
    for (std::string body :
         {"not json", "[]", R"({"type":"payment.refunded","payment_session_id":"p"})",
          R"({"type":"payment.succeeded"})"}) {
        const auto verified = flows::verify_webhook("k", body, mockpay::signature("k", body));
        ASSERT_TRUE(std::holds_alternative<flows::WebhookRejected>(verified)) << body;
        EXPECT_EQ(std::get<flows::WebhookRejected>(verified).status, 400u);
    }
}

// One key per session and outcome, the same on every emit and in every process that shares
// the secret; another session, outcome or secret gives another.
TEST(MockPay, AnEventKeyFollowsFromItsSessionOutcomeAndTheSecret) {
    using mockpay::PaymentOutcome;
    using mockpay::session_event_key;
    const std::string key = session_event_key("k", "ps_1", PaymentOutcome::succeeded);
    EXPECT_EQ(key, session_event_key("k", "ps_1", PaymentOutcome::succeeded));
    EXPECT_EQ(key.size(), 36u);
    EXPECT_TRUE(key.starts_with("evt_"));
    EXPECT_EQ(key.find_first_not_of("0123456789abcdef", 4), std::string::npos);
    EXPECT_NE(key, session_event_key("k", "ps_2", PaymentOutcome::succeeded));
    EXPECT_NE(key, session_event_key("k", "ps_1", PaymentOutcome::failed));
    EXPECT_NE(key, session_event_key("other", "ps_1", PaymentOutcome::succeeded));
}

// A delivery ends when the shop took the event or refused it for good; a redirect (a webhook
// URL behind a proxy that moved it) leaves the event to be delivered again, never dropped.
TEST(MockPay, OnlyATakenOrRefusedEventSettlesItsDelivery) {
    for (unsigned status : {200u, 201u, 204u, 400u, 401u, 404u, 422u, 499u}) {
        EXPECT_TRUE(mockpay::settles_delivery(status)) << status;
    }
    for (unsigned status : {0u, 100u, 101u, 199u, 300u, 301u, 302u, 303u, 307u, 308u, 409u, 500u,
                            502u, 503u, 599u, 600u}) {
        EXPECT_FALSE(mockpay::settles_delivery(status)) << status;
    }
}

TEST(MockPay, RedirectsLeadToSuccessOrBackToCheckout) {
    EXPECT_EQ(mockpay::redirect_after(flows::PaymentOutcome::succeeded, "abc"),
              "/demo/success?order_id=abc");
    EXPECT_EQ(mockpay::redirect_after(flows::PaymentOutcome::canceled, "abc"),
              "/demo/checkout?status=canceled&order_id=abc");
}

TEST(Qr, TicketCodesBecomeSvgImages) {
    const auto svg = app::qr_svg("TCK-ABCDEFGHJK");
    ASSERT_TRUE(svg);
    EXPECT_TRUE(svg->starts_with("<svg"));
    EXPECT_NE(svg->find("h1v1h-1z"), std::string::npos);
    EXPECT_FALSE(app::qr_svg(""));
}

}  // namespace
}  // namespace tigerfans

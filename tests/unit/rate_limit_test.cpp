// Per-address token buckets: the burst, the refill, separate addresses, the limit switched off,
// a clock that goes back, the bounded table, and the 429 the wrapped route answers.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "support/run_async.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/rate_limit.hpp"

namespace tigerfans::http {
namespace {

namespace asio = boost::asio;

constexpr std::int64_t second_us = 1'000'000;

TEST(RateLimiter, AFullBucketAllowsTheBurstThenRefillsAtTheRate) {
    RateLimiter limiter(RateLimit{2, 3});
    const std::int64_t t0 = 50 * second_us;
    for (int i = 0; i < 3; i++) EXPECT_EQ(limiter.take("10.0.0.1", t0), 0) << i;
    EXPECT_EQ(limiter.take("10.0.0.1", t0), 1);                  // Half a second: rounded up.
    EXPECT_EQ(limiter.take("10.0.0.1", t0 + second_us / 2), 0);  // One token back.
    EXPECT_EQ(limiter.take("10.0.0.1", t0 + second_us / 2), 1);
    EXPECT_EQ(limiter.take("10.0.0.1", t0 + 10 * second_us), 0);  // Full again, no more.
    EXPECT_EQ(limiter.take("10.0.0.1", t0 + 10 * second_us), 0);
    EXPECT_EQ(limiter.take("10.0.0.1", t0 + 10 * second_us), 0);
    EXPECT_EQ(limiter.take("10.0.0.1", t0 + 10 * second_us), 1);
}

TEST(RateLimiter, TheWaitCoversTheMissingTokenAtASlowRate) {
    RateLimiter limiter(RateLimit{1, 1});
    EXPECT_EQ(limiter.take("10.0.0.1", 0), 0);
    EXPECT_EQ(limiter.take("10.0.0.1", 0), 1);
    RateLimiter slow(RateLimit{1, 1});
    EXPECT_EQ(slow.take("a", second_us / 10), 0);
    EXPECT_EQ(slow.take("a", second_us / 10 + 1), 1);  // 0.99... s, rounded up to 1.
}

TEST(RateLimiter, EachAddressHasItsOwnBucket) {
    RateLimiter limiter(RateLimit{1, 1});
    EXPECT_EQ(limiter.take("10.0.0.1", 0), 0);
    EXPECT_GT(limiter.take("10.0.0.1", 0), 0);
    EXPECT_EQ(limiter.take("10.0.0.2", 0), 0);
    EXPECT_EQ(limiter.tracked_addresses(), 2u);
}

TEST(RateLimiter, OffNeverRefusesAndTracksNothing) {
    RateLimiter limiter(RateLimit{0, 1});
    EXPECT_FALSE(limiter.enabled());
    for (int i = 0; i < 1000; i++) EXPECT_EQ(limiter.take("10.0.0.1", 0), 0);
    EXPECT_EQ(limiter.tracked_addresses(), 0u);
}

TEST(RateLimiter, AClockThatGoesBackAddsNoTokens) {
    RateLimiter limiter(RateLimit{1, 1});
    EXPECT_EQ(limiter.take("10.0.0.1", 10 * second_us), 0);
    EXPECT_GT(limiter.take("10.0.0.1", 5 * second_us), 0);
    EXPECT_GT(limiter.take("10.0.0.1", 10 * second_us), 0);  // No credit for the jump back.
    EXPECT_EQ(limiter.take("10.0.0.1", 11 * second_us), 0);
}

// Fills the table with `max` addresses, each having spent its one token at time 0.
void fill(RateLimiter& limiter) {
    for (std::size_t i = 0; i < limits::rate_limit_tracked_addresses_max; i++) {
        ASSERT_EQ(limiter.take("a" + std::to_string(i), 0), 0);
    }
    ASSERT_EQ(limiter.tracked_addresses(), limits::rate_limit_tracked_addresses_max);
}

TEST(RateLimiter, AFullTableDropsTheRefilledBucketsFirst) {
    RateLimiter limiter(RateLimit{1, 1});
    fill(limiter);
    EXPECT_EQ(limiter.take("late", second_us), 0);  // A second on, every bucket is full again.
    EXPECT_EQ(limiter.tracked_addresses(), 1u);
}

TEST(RateLimiter, AFullTableOfDrainingBucketsForgetsTheLeastRecentlyUsedHalf) {
    RateLimiter limiter(RateLimit{1, 1});
    const std::size_t max = limits::rate_limit_tracked_addresses_max;
    for (std::size_t i = 0; i < max; i++) {
        ASSERT_EQ(limiter.take("a" + std::to_string(i), static_cast<std::int64_t>(i)), 0);
    }
    EXPECT_EQ(limiter.take("late", static_cast<std::int64_t>(max)), 0);
    EXPECT_EQ(limiter.tracked_addresses(), max - max / 2 + 1);
    EXPECT_GT(limiter.take("a" + std::to_string(max - 1), static_cast<std::int64_t>(max)), 0);
    EXPECT_EQ(limiter.take("a0", static_cast<std::int64_t>(max)), 0);  // Forgotten: full again.
}

TEST(RateLimiter, IPv6PeersCountByTheirSlash64AndMappedIPv4AsIPv4) {
    EXPECT_EQ(RateLimiter::bucket_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    EXPECT_EQ(RateLimiter::bucket_key("2001:db8:1:2:bbbb::7"), "2001:db8:1:2::/64");
    EXPECT_NE(RateLimiter::bucket_key("2001:db8:1:3::1"), "2001:db8:1:2::/64");
    EXPECT_EQ(RateLimiter::bucket_key("::ffff:10.0.0.1"), "10.0.0.1");
    EXPECT_EQ(RateLimiter::bucket_key("10.0.0.1"), "10.0.0.1");
    EXPECT_EQ(RateLimiter::bucket_key("not an address"), "not an address");
    RateLimiter limiter(RateLimit{1, 1});
    EXPECT_EQ(limiter.take("2001:db8::1", 0), 0);
    EXPECT_GT(limiter.take("2001:db8::2", 0), 0);  // Same /64.
}

Handler ok_handler(int& calls) {
    return [&calls](Request&) -> asio::awaitable<Response> {
        calls++;
        co_return Response::text(200, "ok", "text/plain");
    };
}

Response route(const Router& router, Method method, const std::string& path) {
    asio::io_context io;
    Request request;
    request.method = method;
    request.path = path;
    request.remote_address = "10.0.0.9";
    return testing::run_async(io, [&]() { return router.handle(request); });
}

TEST(RateLimiter, AWrappedRouteAnswers429WithRetryAfterAndSkipsItsHandler) {
    int limited_calls = 0;
    int other_calls = 0;
    Routes routes = {{Method::post, "/limited", ok_handler(limited_calls)},
                     {Method::get, "/limited", ok_handler(other_calls)}};
    RateLimiter limiter(RateLimit{1, 1});
    limit_route(routes, Method::post, "/limited", limiter);
    Router router;
    router.add(std::move(routes));
    EXPECT_EQ(route(router, Method::post, "/limited").status, 200u);
    const Response refused = route(router, Method::post, "/limited");
    EXPECT_EQ(refused.status, 429u);
    EXPECT_EQ(nlohmann::json::parse(refused.body)["error"], "too_many_requests");
    EXPECT_EQ(find_header(refused.headers, "Retry-After"), "1");
    EXPECT_EQ(limited_calls, 1);
    for (int i = 0; i < 3; i++) EXPECT_EQ(route(router, Method::get, "/limited").status, 200u);
    EXPECT_EQ(other_calls, 3);
}

}  // namespace
}  // namespace tigerfans::http

// Token buckets per client address, and the route wrapper that answers 429 from them.
#include "tigerfans/http/rate_limit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/errors.hpp"

namespace tigerfans::http {

RateLimiter::RateLimiter(RateLimit limit) : limit_(limit) { TF_ASSERT_GE(limit_.burst, 1u); }

// The bucket's tokens at `now_us`: what it held plus what the time since added, up to burst.
// A clock that went back adds nothing.
double RateLimiter::refilled(const Bucket& bucket, std::int64_t now_us) const {
    const std::int64_t elapsed_us = std::max<std::int64_t>(0, now_us - bucket.updated_us);
    const double added = static_cast<double>(elapsed_us) * limit_.per_second / 1e6;
    return std::min<double>(limit_.burst, bucket.tokens + added);
}

// A full table first forgets the addresses whose bucket has refilled (they are as good as
// new); if every one is still draining it starts afresh rather than grow without bound.
void RateLimiter::make_room(std::int64_t now_us) {
    std::erase_if(buckets_, [&](const auto& entry) {
        return refilled(entry.second, now_us) >= limit_.burst;
    });
    if (buckets_.size() >= limits::rate_limit_tracked_addresses_max) buckets_.clear();
}

std::int64_t RateLimiter::take(std::string_view address, std::int64_t now_us) {
    if (!limit_.enabled()) return 0;
    std::string key(address);
    auto found = buckets_.find(key);
    if (found == buckets_.end()) {
        if (buckets_.size() >= limits::rate_limit_tracked_addresses_max) make_room(now_us);
        const Bucket full{static_cast<double>(limit_.burst), now_us};
        found = buckets_.emplace(std::move(key), full).first;
    }
    Bucket& bucket = found->second;
    bucket.tokens = refilled(bucket, now_us);
    bucket.updated_us = std::max(bucket.updated_us, now_us);
    if (bucket.tokens >= 1.0) {
        bucket.tokens -= 1.0;
        return 0;
    }
    const double wait_s = (1.0 - bucket.tokens) / limit_.per_second;
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait_s)));
}

namespace {

std::int64_t steady_now_us() {
    const auto now = std::chrono::steady_clock::now().time_since_epoch();
    return std::chrono::duration_cast<std::chrono::microseconds>(now).count();
}

Response too_many_requests(std::int64_t wait_s) {
    Response response = error_response(429, "too_many_requests",
                                       "too many requests from this address; try again later");
    response.headers.emplace_back("Retry-After", std::to_string(wait_s));
    return response;
}

// A named coroutine rather than a coroutine lambda: the wrapper's captures stay plain data.
boost::asio::awaitable<Response> limited(RateLimiter& limiter, const Handler& inner,
                                         Request& request) {
    const std::int64_t wait_s = limiter.take(request.remote_address, steady_now_us());
    if (wait_s > 0) co_return too_many_requests(wait_s);
    Response response = co_await inner(request);
    co_return response;
}

}  // namespace

void limit_route(Routes& routes, Method method, std::string_view pattern, RateLimiter& limiter) {
    const auto route = std::find_if(routes.begin(), routes.end(), [&](const Route& candidate) {
        return candidate.method == method && candidate.pattern == pattern;
    });
    TF_ASSERT(route != routes.end());
    if (!limiter.enabled()) return;
    route->handler = [&limiter, inner = std::move(route->handler)](Request& request) {
        return limited(limiter, inner, request);
    };
}

}  // namespace tigerfans::http

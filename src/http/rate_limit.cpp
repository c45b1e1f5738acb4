// Token buckets per client address, and the route wrapper that answers 429 from them.
#include "tigerfans/http/rate_limit.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cmath>
#include <vector>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
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
// new). If that frees less than a tenth of it, it also forgets the older half by last use: the
// addresses that still drain their buckets are the ones that keep asking, and stay.
void RateLimiter::make_room(std::int64_t now_us) {
    std::erase_if(buckets_, [&](const auto& entry) {
        return refilled(entry.second, now_us) >= limit_.burst;
    });
    const std::size_t max = limits::rate_limit_tracked_addresses_max;
    if (buckets_.size() < max - max / 10) return;
    std::vector<std::int64_t> last_use;
    last_use.reserve(buckets_.size());
    for (const auto& entry : buckets_) last_use.push_back(entry.second.updated_us);
    const auto middle = last_use.begin() + static_cast<std::ptrdiff_t>(last_use.size() / 2);
    std::nth_element(last_use.begin(), middle, last_use.end());
    const std::int64_t cutoff = *middle;
    std::erase_if(buckets_,
                  [cutoff](const auto& entry) { return entry.second.updated_us < cutoff; });
    if (buckets_.size() >= max - max / 10) buckets_.clear();  // All used at the same moment.
}

std::string RateLimiter::bucket_key(std::string_view address) {
    boost::system::error_code error;
    const auto parsed = boost::asio::ip::make_address(address, error);
    if (error || parsed.is_v4()) return std::string(address);
    const auto v6 = parsed.to_v6();
    if (v6.is_v4_mapped()) {
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
    }
    auto bytes = v6.to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);  // The /64 network: one customer's site.
    return boost::asio::ip::make_address_v6(bytes).to_string() + "/64";
}

std::int64_t RateLimiter::take(std::string_view address, std::int64_t now_us) {
    if (!limit_.enabled()) return 0;
    std::string key = bucket_key(address);
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

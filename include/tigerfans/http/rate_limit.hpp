// Per-address request rates: a token bucket for each client address. A bucket holds up to
// `burst` tokens and refills at `per_second` tokens a second; a request takes one token, and a
// request that finds none is answered 429 with the seconds until the next token in
// Retry-After. Rates count the TCP peer's address (an IPv6 peer by its /64 network, which one
// subscriber usually holds whole; an IPv4-mapped one as IPv4): behind a proxy every fan shares
// the proxy's bucket. Single loop thread, in memory, bounded (core/limits.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tigerfans/http/router.hpp"

namespace tigerfans::http {

struct RateLimit {
    std::uint32_t per_second = 0;  // 0: no limit.
    std::uint32_t burst = 1;       // Requests one address may make at once from a full bucket.

    bool enabled() const { return per_second > 0; }
};

class RateLimiter {
public:
    explicit RateLimiter(RateLimit limit);

    // Takes a token for `address`. Returns 0 when the request may go, else the whole seconds
    // (at least 1) until the address has a token again.
    std::int64_t take(std::string_view address, std::int64_t now_us);

    bool enabled() const { return limit_.enabled(); }
    std::size_t tracked_addresses() const { return buckets_.size(); }

    // The bucket an address counts against.
    static std::string bucket_key(std::string_view address);

private:
    struct Bucket {
        double tokens = 0;
        std::int64_t updated_us = 0;
    };

    double refilled(const Bucket& bucket, std::int64_t now_us) const;
    void make_room(std::int64_t now_us);

    RateLimit limit_;
    std::unordered_map<std::string, Bucket> buckets_;
};

// Wraps the handler of the route `method pattern` in `routes` so that it first takes a token
// from `limiter` (which must outlive the routes). Nothing changes when the limit is off.
void limit_route(Routes& routes, Method method, std::string_view pattern, RateLimiter& limiter);

}  // namespace tigerfans::http

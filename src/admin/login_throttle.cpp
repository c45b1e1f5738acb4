// Login throttling: exponential blocks after a few free failures, per address and per user.
#include "tigerfans/admin/login_throttle.hpp"

#include <algorithm>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/rate_limit.hpp"

namespace tigerfans::admin {

namespace {
constexpr std::int64_t us_per_s = 1'000'000;

// A user name as the table's key. Names longer than any real one (the login form takes up to
// the body limit, Basic auth up to the header limit) share one key, which no name of the
// allowed length equals: otherwise 100,000 failures with such names would hold gigabytes.
std::string user_key(std::string_view username) {
    if (username.size() <= limits::admin_login_username_key_bytes_max) return std::string(username);
    return std::string(limits::admin_login_username_key_bytes_max + 1, '*');
}

// An address as the rate limits count it: an IPv6 peer by its /64 network, which one site holds
// whole (a guesser there would otherwise have 2^64 addresses with free failures each).
std::string address_key(std::string_view address) { return http::RateLimiter::bucket_key(address); }

// No address holds a newline, so the first one ends it: each pair has a key of its own.
std::string pair_key(const std::string& address, const std::string& user) {
    return address + '\n' + user;
}
}  // namespace

std::int64_t LoginThrottle::wait_in(const Table& table, const std::string& key,
                                    std::int64_t now_us) {
    const auto found = table.find(key);
    if (found == table.end()) return 0;
    return std::max<std::int64_t>(0, found->second.blocked_until_us - now_us);
}

// A full table first forgets entries whose block is over; if every entry is still blocking,
// it starts afresh rather than grow without bound (an attacker filling it gains a moment),
// keeping only the entries of user names a right password was given for.
LoginThrottle::Failures& LoginThrottle::count_failure(Table& table, const std::string& key,
                                                      std::int64_t now_us) {
    if (table.size() >= limits::admin_login_tracked_keys_max && !table.contains(key)) {
        std::erase_if(
            table, [now_us](const auto& entry) { return entry.second.blocked_until_us <= now_us; });
        if (table.size() >= limits::admin_login_tracked_keys_max) {
            std::erase_if(table,
                          [this](const auto& entry) { return !trusted_.contains(entry.first); });
        }
    }
    Failures& failures = table[key];
    failures.count++;
    if (failures.count <= limits::admin_login_free_failures) return failures;
    const int doublings = std::min(failures.count - limits::admin_login_free_failures - 1, 20);
    const std::int64_t block_s =
        std::min<std::int64_t>(std::int64_t{1} << doublings, limits::admin_login_block_max_s);
    failures.blocked_until_us = now_us + block_s * us_per_s;
    TF_ASSERT_GT(failures.blocked_until_us, now_us);
    return failures;
}

void LoginThrottle::trust(const std::string& address, const std::string& user,
                          std::int64_t now_us) {
    std::vector<Trusted>& addresses = trusted_[user];
    const std::int64_t until_us = now_us + limits::admin_login_trust_s * us_per_s;
    auto kept = std::ranges::find(addresses, address, &Trusted::address);
    if (kept == addresses.end() && addresses.size() < limits::admin_login_trusted_addresses_max) {
        kept = addresses.insert(addresses.end(), Trusted{address, 0});
    }
    if (kept == addresses.end()) {
        kept = std::ranges::min_element(addresses, {}, &Trusted::until_us);
        kept->address = address;
    }
    kept->until_us = until_us;
}

bool LoginThrottle::trusted(const std::string& address, const std::string& user,
                            std::int64_t now_us) const {
    const auto found = trusted_.find(user);
    if (found == trusted_.end()) return false;
    return std::ranges::any_of(found->second, [&](const Trusted& trusted) {
        return trusted.address == address && trusted.until_us > now_us;
    });
}

// Rounded up: a block with any time left is at least a second, as Retry-After counts.
std::int64_t LoginThrottle::wait_s(std::string_view address, std::string_view username,
                                   std::int64_t now_us) const {
    const std::string address_counted = address_key(address);
    const std::string user_counted = user_key(username);
    const std::int64_t address_wait_us = wait_in(by_address_, address_counted, now_us);
    const std::int64_t user_wait_us = trusted(address_counted, user_counted, now_us)
                                          ? 0
                                          : wait_in(by_user_, user_counted, now_us);
    const std::int64_t wait_us = std::max(address_wait_us, user_wait_us);
    return (wait_us + us_per_s - 1) / us_per_s;
}

void LoginThrottle::failed(std::string_view address, std::string_view username,
                           std::int64_t now_us) {
    const std::string address_counted = address_key(address);
    const std::string user_counted = user_key(username);
    count_failure(by_address_, address_counted, now_us);
    Failures& user = count_failure(by_user_, user_counted, now_us);
    if (user.user_entry == 0) user.user_entry = ++user_entries_made_;
    Failures& pair = count_failure(by_pair_, pair_key(address_counted, user_counted), now_us);
    if (pair.user_entry != user.user_entry) {
        // What the pair counted before went with the user entry a full table dropped.
        pair.count = 1;
        pair.user_entry = user.user_entry;
    }
}

// The right password forgives the address its failures, but the user name only those made from
// this address: an admin polling with Basic credentials every few seconds must not hand a
// guesser elsewhere a fresh set of free failures at each poll. The address then passes the
// user name's block (not its own) for limits::admin_login_trust_s.
void LoginThrottle::succeeded(std::string_view address, std::string_view username,
                              std::int64_t now_us) {
    const std::string address_counted = address_key(address);
    const std::string user_counted = user_key(username);
    by_address_.erase(address_counted);
    trust(address_counted, user_counted, now_us);
    const auto pair = by_pair_.find(pair_key(address_counted, user_counted));
    if (pair == by_pair_.end()) return;
    const auto user = by_user_.find(user_counted);
    if (user != by_user_.end() && user->second.user_entry == pair->second.user_entry) {
        user->second.count = std::max(0, user->second.count - pair->second.count);
        if (user->second.count == 0) by_user_.erase(user);
    }
    by_pair_.erase(pair);
}

}  // namespace tigerfans::admin

// Admin login throttling: wrong passwords are counted per client address (an IPv6 one by its
// /64 network) and per user name; past a few free attempts each further failure blocks that
// address (and that user) for twice as long as the one before, up to a ceiling. The right
// password clears the address's count and takes from the user's only the failures made from
// that address, and lets that address past the user's block for 30 days (a
// guesser elsewhere cannot lock the admin out of the addresses it works from). Single loop
// thread, in memory, bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tigerfans::admin {

// Its limits are in core/limits.hpp (admin_login_*).
class LoginThrottle {
public:
    // Whole seconds (rounded up) until the next attempt from `address` for `username` is
    // answered; 0: now. Times are microseconds of steady_now_us(), so a block lasts its full
    // length whatever the fraction of a second it began in, and a step of the wall clock
    // neither lengthens nor ends it.
    std::int64_t wait_s(std::string_view address, std::string_view username,
                        std::int64_t now_us) const;
    void failed(std::string_view address, std::string_view username, std::int64_t now_us);
    void succeeded(std::string_view address, std::string_view username, std::int64_t now_us);

private:
    struct Failures {
        int count = 0;
        std::int64_t blocked_until_us = 0;
        // In by_user_, which entry of the name this is (none before had its number); in
        // by_pair_, the user entry its count was taken against.
        std::uint64_t user_entry = 0;
    };
    using Table = std::unordered_map<std::string, Failures>;

    // An address the right password came from for a user name, and until when that lets it
    // past the user name's block.
    struct Trusted {
        std::string address;
        std::int64_t until_us = 0;
    };

    static std::int64_t wait_in(const Table& table, const std::string& key, std::int64_t now_us);
    Failures& count_failure(Table& table, const std::string& key, std::int64_t now_us);
    void trust(const std::string& address, const std::string& user, std::int64_t now_us);
    bool trusted(const std::string& address, const std::string& user, std::int64_t now_us) const;

    Table by_address_;
    Table by_user_;
    // Failures per address and user name (counted, never blocking): what a success forgives,
    // from the user's entry they were counted in only (a full table forgets entries apart).
    Table by_pair_;
    std::uint64_t user_entries_made_ = 0;
    // Per user name with a right password (only the configured one can have it), its latest
    // addresses, limits::admin_login_trusted_addresses_max at most. A full table of user names
    // keeps these names' entries: their counts are what slows a guesser of the real name.
    std::unordered_map<std::string, std::vector<Trusted>> trusted_;
};

}  // namespace tigerfans::admin

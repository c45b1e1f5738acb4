// Admission tokens: what admission hands a queue entry, and what checkout asks for while the
// waiting room is on. A token binds the entry id, its issue time, its expiry and the tickets
// it allows, signed with HMAC-SHA256:
//
//   v1.<entry id>.<issued, Unix s>.<expires, Unix s>.<tickets>.<signature>
//
// The entry id is 32 lower-case hex digits, the numbers are decimal without leading zeros,
// and the signature is the base64url (unpadded) HMAC of everything before its dot, so a token
// needs no escaping in a URL, a header or a cookie. Verification says why a token is refused;
// how many tickets a token has already bought is the store's to count (`used_up`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tigerfans::queue {

inline constexpr std::size_t admission_token_bytes_max = 160;  // Longer texts are malformed.
inline constexpr std::uint32_t admission_tickets_max = 1'000;

struct Admission {
    std::string entry_id;        // The queue entry admitted.
    std::int64_t issued_s = 0;   // Unix seconds.
    std::int64_t expires_s = 0;  // Unix seconds, after issued_s; valid while now < expires_s.
    std::uint32_t tickets = 0;   // Tickets checkout may hold with it: 1 to admission_tickets_max.
};

enum class TokenRefusal {
    missing,    // No token at all.
    malformed,  // Not a token's form: parts, lengths, digits, version.
    forged,     // The form is right, the signature is not this server's.
    expired,    // Genuine, but its time is over.
    used_up,    // Genuine, but its tickets are bought (the store's verdict).
};

// "admission_missing", "admission_malformed", ...: the `error` of the 403 answer; every one
// starts with refusal_prefix.
std::string_view refusal_name(TokenRefusal refusal);
inline constexpr std::string_view refusal_prefix = "admission_";

// The signing key, derived from `secret` under a label of its own, so that no other signature
// made with that secret (such as the admin cookie's, with SESSION_SECRET) is a valid token.
std::string admission_key(std::string_view secret);

// An admission for `entry_id` at `now_s`, valid `ttl_s` seconds, for `tickets`.
Admission admit(std::string entry_id, std::int64_t now_s, std::int64_t ttl_s,
                std::uint32_t tickets);

// The token of `admission` (which must be valid as its comments say), signed with `key`.
std::string issue_token(std::string_view key, const Admission& admission);

struct TokenCheck {
    std::optional<Admission> admission;            // Set when the token is valid.
    TokenRefusal refusal = TokenRefusal::missing;  // Why not, when unset.
    bool ok() const { return admission.has_value(); }
};

// Checks `token` at `now_s`: its form, then its signature, then its expiry. Any text at all
// is safe to pass.
TokenCheck verify_token(std::string_view key, std::string_view token, std::int64_t now_s);

}  // namespace tigerfans::queue

// SHA-256, HMAC-SHA256, hex, base64 and constant-time comparison: MockPay signs webhooks with
// them, the admin session cookie is signed with them, checkout names idempotency keys by digest.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tigerfans {

// Two lower-case hex digits a byte.
std::string lower_hex(std::string_view bytes);

// SHA-256 as 64 lower-case hex digits.
std::string sha256_hex(std::string_view message);

// Raw 32-byte MAC.
std::string hmac_sha256(std::string_view key, std::string_view message);

std::string base64_encode(std::string_view bytes);
// Standard alphabet with padding; nullopt on malformed input.
std::optional<std::string> base64_decode(std::string_view text);
// URL-safe alphabet without padding (cookies).
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// Compares in time that depends only on the lengths, never on where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace tigerfans

// Admission tokens: issue, parse, verify.
#include "tigerfans/queue/admission_token.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/queue/entry.hpp"

namespace tigerfans::queue {

namespace {
constexpr std::string_view version = "v1";
constexpr std::string_view key_label = "tigerfans admission token v1";
constexpr std::size_t number_digits_max = 19;  // Every int64 has at most 19 digits.
constexpr std::size_t signature_chars = 43;    // 32 bytes in unpadded base64url.
constexpr std::size_t token_parts = 6;

using Parts = std::array<std::string_view, token_parts>;

TokenCheck refused(TokenRefusal refusal) { return TokenCheck{std::nullopt, refusal}; }

// Splits `text` at its dots into exactly token_parts parts; false for any other count.
bool split(std::string_view text, Parts& parts) {
    for (std::size_t i = 0; i < token_parts; i++) {
        const std::size_t dot = text.find('.');
        parts[i] = text.substr(0, dot);
        const bool last = i + 1 == token_parts;
        if ((dot == std::string_view::npos) != last) return false;
        if (!last) text.remove_prefix(dot + 1);
    }
    return true;
}

// A decimal number without sign or leading zeros that fits an int64.
std::optional<std::int64_t> parse_number(std::string_view text) {
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (text.empty() || text.size() > number_digits_max) return std::nullopt;
    if ((text.size() > 1 && text[0] == '0') || !std::all_of(text.begin(), text.end(), digit)) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

bool valid(const Admission& admission) {
    return is_entry_id(admission.entry_id) && admission.issued_s >= 0 &&
           admission.expires_s > admission.issued_s && admission.tickets >= 1 &&
           admission.tickets <= admission_tickets_max;
}

std::optional<Admission> parse_fields(const Parts& parts) {
    const std::optional<std::int64_t> issued = parse_number(parts[2]);
    const std::optional<std::int64_t> expires = parse_number(parts[3]);
    const std::optional<std::int64_t> tickets = parse_number(parts[4]);
    if (parts[0] != version || !issued || !expires || !tickets) return std::nullopt;
    if (*tickets > admission_tickets_max) return std::nullopt;
    Admission admission{std::string(parts[1]), *issued, *expires,
                        static_cast<std::uint32_t>(*tickets)};
    if (!valid(admission)) return std::nullopt;
    return admission;
}

bool signature_form(std::string_view text) {
    return text.size() == signature_chars && base64url_decode(text).has_value();
}

std::string signature(std::string_view key, std::string_view payload) {
    return base64url_encode(hmac_sha256(key, payload));
}
}  // namespace

std::string_view refusal_name(TokenRefusal refusal) {
    switch (refusal) {
        case TokenRefusal::missing: return "admission_missing";
        case TokenRefusal::malformed: return "admission_malformed";
        case TokenRefusal::forged: return "admission_forged";
        case TokenRefusal::expired: return "admission_expired";
        case TokenRefusal::used_up: return "admission_used_up";
    }
    return "admission_refused";
}

std::string admission_key(std::string_view secret) { return hmac_sha256(secret, key_label); }

Admission admit(std::string entry_id, std::int64_t now_s, std::int64_t ttl_s,
                std::uint32_t tickets) {
    Admission admission{std::move(entry_id), now_s, now_s + ttl_s, tickets};
    TF_ASSERT(valid(admission));
    return admission;
}

std::string issue_token(std::string_view key, const Admission& admission) {
    TF_ASSERT(valid(admission));
    const std::string payload =
        std::string(version) + "." + admission.entry_id + "." + std::to_string(admission.issued_s) +
        "." + std::to_string(admission.expires_s) + "." + std::to_string(admission.tickets);
    std::string token = payload + "." + signature(key, payload);
    TF_ASSERT(token.size() <= admission_token_bytes_max);
    return token;
}

TokenCheck verify_token(std::string_view key, std::string_view token, std::int64_t now_s) {
    if (token.empty()) return refused(TokenRefusal::missing);
    Parts parts;
    if (token.size() > admission_token_bytes_max || !split(token, parts)) {
        return refused(TokenRefusal::malformed);
    }
    std::optional<Admission> admission = parse_fields(parts);
    if (!admission || !signature_form(parts[5])) return refused(TokenRefusal::malformed);
    const std::string_view payload = token.substr(0, token.size() - parts[5].size() - 1);
    if (!constant_time_equal(signature(key, payload), parts[5])) {
        return refused(TokenRefusal::forged);
    }
    if (now_s >= admission->expires_s) return refused(TokenRefusal::expired);
    return TokenCheck{std::move(admission), TokenRefusal::missing};
}

}  // namespace tigerfans::queue

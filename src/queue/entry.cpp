// Queue keys, their exact form as sorted set scores, and entry ids.
#include "tigerfans/queue/entry.hpp"

#include <charconv>
#include <cmath>
#include <tuple>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/u128.hpp"

namespace tigerfans::queue {

std::uint64_t raffle_key(std::uint64_t random64) { return random64 & key_value_max; }

std::uint64_t arrival_key(std::uint64_t sequence) {
    TF_ASSERT(sequence >= 1 && sequence <= key_value_max);
    return sale_band_bit | sequence;
}

Phase key_phase(std::uint64_t key) {
    TF_ASSERT(key <= key_max);
    return (key & sale_band_bit) != 0 ? Phase::sale : Phase::prequeue;
}

std::uint64_t key_value(std::uint64_t key) {
    TF_ASSERT(key <= key_max);
    return key & key_value_max;
}

double key_score(std::uint64_t key) {
    TF_ASSERT(key <= key_max);
    return static_cast<double>(key);
}

std::optional<std::uint64_t> key_from_score(double score) {
    // Compared as doubles first, so no out-of-range double is ever converted.
    if (!(score >= 0.0 && score <= static_cast<double>(key_max))) return std::nullopt;
    if (std::trunc(score) != score) return std::nullopt;
    return static_cast<std::uint64_t>(score);
}

std::optional<std::uint64_t> key_from_score_text(std::string_view text) {
    double score = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), score);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return key_from_score(score);
}

std::uint64_t secure_random64() {
    std::uint64_t value = 0;
    random_fill(&value, sizeof(value));
    return value;
}

std::string new_entry_id() { return u128_to_hex(random_u128()); }

bool is_entry_id(std::string_view text) {
    const std::optional<u128> value = u128_from_hex(text);
    return value && u128_to_hex(*value) == text;
}

bool queued_before(const Place& a, const Place& b) {
    return std::tie(a.key, a.entry_id) < std::tie(b.key, b.entry_id);
}

}  // namespace tigerfans::queue

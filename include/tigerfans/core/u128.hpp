// 128-bit unsigned integers as TigerBeetle uses them for ids and amounts, with the text forms
// the HTTP contract needs (decimal, as the original demo printed them; hex for compact keys).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tigerfans {

__extension__ typedef unsigned __int128 u128;

inline constexpr u128 u128_max = ~u128{0};

constexpr u128 make_u128(std::uint64_t high, std::uint64_t low) {
    return (u128{high} << 64) | u128{low};
}
constexpr std::uint64_t u128_high(u128 value) { return static_cast<std::uint64_t>(value >> 64); }
constexpr std::uint64_t u128_low(u128 value) { return static_cast<std::uint64_t>(value); }

inline constexpr std::size_t u128_decimal_digits_max = 39;  // 2^128 - 1 has 39 digits.

std::string u128_to_decimal(u128 value);
// Writes the digits into `out` (no terminator) and returns how many; allocation-free.
std::size_t u128_to_decimal(u128 value, char (&out)[u128_decimal_digits_max]);
// Accepts 1 to 39 decimal digits without sign or spaces; rejects values above 2^128-1.
std::optional<u128> u128_from_decimal(std::string_view text);

// For unordered containers keyed by ids.
struct U128Hash {
    std::size_t operator()(u128 value) const {
        constexpr std::uint64_t golden = 0x9E3779B97F4A7C15ull;
        return static_cast<std::size_t>(u128_low(value) ^ (u128_high(value) * golden));
    }
};

// Always 32 lower-case hex digits.
std::string u128_to_hex(u128 value);
// Accepts exactly 32 hex digits, either case.
std::optional<u128> u128_from_hex(std::string_view text);

}  // namespace tigerfans

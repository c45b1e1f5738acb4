// Text conversions for 128-bit ids: decimal (the demo's wire form) and fixed-width hex.
#include "tigerfans/core/u128.hpp"

#include <algorithm>
#include <cassert>

namespace tigerfans {

namespace {
constexpr std::size_t decimal_digits_max = 39;  // 2^128 - 1 has 39 digits.
constexpr std::size_t hex_digits = 32;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::string u128_to_decimal(u128 value) {
    char digits[decimal_digits_max];
    std::size_t count = 0;
    do {
        digits[count++] = static_cast<char>('0' + static_cast<int>(value % 10));
        value /= 10;
    } while (value != 0);
    assert(count <= decimal_digits_max);
    std::string text(digits, count);
    std::reverse(text.begin(), text.end());
    return text;
}

std::optional<u128> u128_from_decimal(std::string_view text) {
    if (text.empty() || text.size() > decimal_digits_max) return std::nullopt;
    u128 value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        const unsigned digit = static_cast<unsigned>(c - '0');
        if (value > (u128_max - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

std::string u128_to_hex(u128 value) {
    static constexpr char alphabet[] = "0123456789abcdef";
    std::string text(hex_digits, '0');
    for (std::size_t i = 0; i < hex_digits; i++) {
        text[hex_digits - 1 - i] = alphabet[static_cast<unsigned>(value & 0xF)];
        value >>= 4;
    }
    return text;
}

std::optional<u128> u128_from_hex(std::string_view text) {
    if (text.size() != hex_digits) return std::nullopt;
    u128 value = 0;
    for (char c : text) {
        const int digit = hex_value(c);
        if (digit < 0) return std::nullopt;
        value = (value << 4) | static_cast<unsigned>(digit);
    }
    return value;
}

}  // namespace tigerfans

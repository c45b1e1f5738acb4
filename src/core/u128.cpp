// Text conversions for 128-bit ids: decimal (the demo's wire form) and fixed-width hex.
#include "tigerfans/core/u128.hpp"

#include <algorithm>
#include <charconv>

#include "tigerfans/core/assert.hpp"

namespace tigerfans {

namespace {
constexpr std::size_t hex_digits = 32;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

// Two divisions by 10^19 split the value into 64-bit parts that std::to_chars formats, instead
// of one 128-bit division per digit.
std::size_t u128_to_decimal(u128 value, char (&out)[u128_decimal_digits_max]) {
    constexpr std::uint64_t ten_to_19 = 10'000'000'000'000'000'000ull;
    constexpr std::size_t part_digits = 19;
    std::uint64_t parts[3];
    std::size_t count = 0;
    do {
        parts[count++] = static_cast<std::uint64_t>(value % ten_to_19);
        value /= ten_to_19;
    } while (value != 0);
    TF_ASSERT_LE(count, 3u);
    char* end = std::to_chars(out, out + sizeof(out), parts[count - 1]).ptr;
    for (std::size_t i = count - 1; i-- > 0;) {
        char digits[part_digits];
        const char* digits_end = std::to_chars(digits, digits + part_digits, parts[i]).ptr;
        const std::size_t used = static_cast<std::size_t>(digits_end - digits);
        end = std::fill_n(end, part_digits - used, '0');  // Zero-padded to 19 digits.
        end = std::copy(digits, digits + used, end);
    }
    const auto length = static_cast<std::size_t>(end - out);
    TF_ASSERT_LE(length, u128_decimal_digits_max);
    return length;
}

std::string u128_to_decimal(u128 value) {
    char digits[u128_decimal_digits_max];
    return std::string(digits, u128_to_decimal(value, digits));
}

std::optional<u128> u128_from_decimal(std::string_view text) {
    if (text.empty() || text.size() > u128_decimal_digits_max) return std::nullopt;
    // The overflow test compares with constants: a 128-bit division per digit is a library
    // call that costs more than the rest of the loop.
    constexpr u128 tenth_of_max = u128_max / 10;
    constexpr unsigned last_digit_of_max = static_cast<unsigned>(u128_max % 10);
    u128 value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        const unsigned digit = static_cast<unsigned>(c - '0');
        if (value > tenth_of_max || (value == tenth_of_max && digit > last_digit_of_max)) {
            return std::nullopt;
        }
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

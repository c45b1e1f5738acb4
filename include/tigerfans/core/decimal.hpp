// Decimal digits appended to a string without a temporary: the hand-written HTTP heads of the
// server and the load client put status codes and lengths on every message.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

#include "tigerfans/core/assert.hpp"

namespace tigerfans {

inline void append_decimal(std::string& out, std::uint64_t value) {
    char digits[20];  // 2^64 - 1 has 20 digits.
    const auto [end, error] = std::to_chars(digits, digits + sizeof(digits), value);
    TF_ASSERT(error == std::errc());
    out.append(digits, end);
}

}  // namespace tigerfans

// Assertions that stay on in every build type (they do not look at NDEBUG): a broken invariant
// stops the process before it can move money the wrong way. The check is inline and costs one
// predicted branch; everything that reports (formatting the values, writing to stderr) is out
// of line and cold. On failure one line goes to stderr, then std::abort():
//
//   src/flows/webhook.cpp:116: assertion failed: order->id == session.order_id (left "0f3a",
//   right "9b1c")
//
// Asserts check the program's own invariants, never input: bad input is an answer (4xx).
//
//   TF_ASSERT(cond)                 reports the expression
//   TF_ASSERT_EQ(a, b), _NE, _LT, _LE, _GT, _GE
//                                   and both values; each operand is evaluated once
//   TF_ASSERT_MSG(cond, parts...)   and the parts (strings, numbers, enums, ...) joined; the
//                                   parts are evaluated only on failure
#pragma once

#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace tigerfans::assert_detail {

// Writes "<file>:<line>: assertion failed: <expression>[ (<detail>)]" to stderr and aborts.
[[noreturn, gnu::cold, gnu::noinline]] void fail(const char* expression, const char* file, int line,
                                                 std::string_view detail) noexcept;

__extension__ typedef unsigned __int128 unsigned_128;
// Decimal up to 2^64 - 1, above that 0x and 32 hex digits (ids, mostly).
std::string text_128(unsigned_128 value);

template <typename T>
concept Streamable = requires(std::ostream& out, const T& value) {
    out << value;
};

// The value as text: strings quoted, enums as their number, anything else as streamed.
template <typename T>
std::string show(const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
        return value ? "true" : "false";
    } else if constexpr (std::is_same_v<T, unsigned_128>) {
        return text_128(value);
    } else if constexpr (std::is_enum_v<T>) {
        return std::to_string(static_cast<long long>(value));
    } else if constexpr (std::is_arithmetic_v<T>) {
        return std::to_string(value);
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        return "\"" + std::string(std::string_view(value)) + "\"";
    } else if constexpr (Streamable<T>) {
        std::ostringstream text;
        text << value;
        return text.str();
    } else {
        return "(not printable)";
    }
}

template <typename A, typename B>
[[noreturn, gnu::cold, gnu::noinline]] void fail_compare(const char* expression, const char* file,
                                                         int line, const A& left,
                                                         const B& right) noexcept {
    fail(expression, file, line, "left " + show(left) + ", right " + show(right));
}

// Message parts are joined as written; string literals and strings go in without quotes.
template <typename T>
std::string part(const T& value) {
    if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        return std::string(std::string_view(value));
    } else {
        return show(value);
    }
}

template <typename... Parts>
[[noreturn, gnu::cold, gnu::noinline]] void fail_message(const char* expression, const char* file,
                                                         int line, const Parts&... parts) noexcept {
    std::string detail;
    (detail.append(part(parts)), ...);
    fail(expression, file, line, detail);
}

}  // namespace tigerfans::assert_detail

#define TF_ASSERT(cond)                                                      \
    do {                                                                     \
        if (!(cond)) [[unlikely]] {                                          \
            ::tigerfans::assert_detail::fail(#cond, __FILE__, __LINE__, {}); \
        }                                                                    \
    } while (false)

#define TF_ASSERT_MSG(cond, ...)                                                              \
    do {                                                                                      \
        if (!(cond)) [[unlikely]] {                                                           \
            ::tigerfans::assert_detail::fail_message(#cond, __FILE__, __LINE__, __VA_ARGS__); \
        }                                                                                     \
    } while (false)

#define TF_ASSERT_OP(a, op, b)                                                              \
    do {                                                                                    \
        const auto& tf_assert_left_ = (a);                                                  \
        const auto& tf_assert_right_ = (b);                                                 \
        if (!(tf_assert_left_ op tf_assert_right_)) [[unlikely]] {                          \
            ::tigerfans::assert_detail::fail_compare(#a " " #op " " #b, __FILE__, __LINE__, \
                                                     tf_assert_left_, tf_assert_right_);    \
        }                                                                                   \
    } while (false)

#define TF_ASSERT_EQ(a, b) TF_ASSERT_OP(a, ==, b)
#define TF_ASSERT_NE(a, b) TF_ASSERT_OP(a, !=, b)
#define TF_ASSERT_LT(a, b) TF_ASSERT_OP(a, <, b)
#define TF_ASSERT_LE(a, b) TF_ASSERT_OP(a, <=, b)
#define TF_ASSERT_GT(a, b) TF_ASSERT_OP(a, >, b)
#define TF_ASSERT_GE(a, b) TF_ASSERT_OP(a, >=, b)

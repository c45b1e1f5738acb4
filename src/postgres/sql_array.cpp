// Array literal building: the escaping rules of PostgreSQL's array input (doc: "Array Value
// Input"): inside double quotes only `"` and `\` need a backslash.
#include "postgres/sql_array.hpp"

#include "tigerfans/core/assert.hpp"

namespace tigerfans::postgres {

namespace {
// Length of the UTF-8 sequence starting at text[at], or 0 when it is not one PostgreSQL
// accepts (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    if (lead == 0) return 0;
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // Range of the second byte.
    if (lead >= 0xC2 && lead <= 0xDF)
        length = 2;
    else if (lead >= 0xE0 && lead <= 0xEF)
        length = 3;
    else if (lead >= 0xF0 && lead <= 0xF4)
        length = 4;
    else
        return 0;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
    if (at + length > text.size()) return 0;
    if (byte(at + 1) < low || byte(at + 1) > high) return 0;
    for (std::size_t i = 2; i < length; i++) {
        if (byte(at + i) < 0x80 || byte(at + i) > 0xBF) return 0;
    }
    return length;
}
}  // namespace

bool is_storable_text(std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t length = utf8_sequence_length(text, at);
        if (length == 0) return false;
        at += length;
    }
    return true;
}

void ArrayLiteral::separate() {
    if (size_ > 0) text_ += ',';
    size_++;
}

void ArrayLiteral::add_text(std::string_view value) {
    TF_ASSERT(is_storable_text(value));
    separate();
    text_ += '"';
    // Runs without a character to escape are appended whole.
    std::size_t run_from = 0;
    for (std::size_t i = 0; i < value.size(); i++) {
        if (value[i] != '"' && value[i] != '\\') continue;
        text_.append(value.substr(run_from, i - run_from));
        text_ += '\\';
        run_from = i;  // The escaped character opens the next run.
    }
    text_.append(value.substr(run_from));
    text_ += '"';
}

void ArrayLiteral::add_int(std::int64_t value) {
    separate();
    text_ += std::to_string(value);
}

void ArrayLiteral::add_bool(bool value) {
    separate();
    text_ += value ? "true" : "false";
}

void ArrayLiteral::add_null() {
    separate();
    text_ += "NULL";
}

}  // namespace tigerfans::postgres

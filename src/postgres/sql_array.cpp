// Array literal building: the escaping rules of PostgreSQL's array input (doc: "Array Value
// Input"): inside double quotes only `"` and `\` need a backslash.
#include "postgres/sql_array.hpp"

#include <cassert>

namespace tigerfans::postgres {

void ArrayLiteral::separate() {
    if (size_ > 0) text_ += ',';
    size_++;
}

void ArrayLiteral::add_text(std::string_view value) {
    assert(value.find('\0') == std::string_view::npos);  // PostgreSQL text cannot hold NUL.
    separate();
    text_ += '"';
    for (char c : value) {
        if (c == '"' || c == '\\') text_ += '\\';
        text_ += c;
    }
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

// Text literals for PostgreSQL arrays, so a whole batch travels as a few parameters of one
// prepared statement (`unnest($1::text[], $2::bigint[], ...)`) instead of SQL text with values
// spliced in. Every element is double-quoted and escaped, so any text survives (commas, braces,
// quotes, the word NULL); a real NULL is the bare word.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tigerfans::postgres {

// Whether PostgreSQL can store `text` as text: valid UTF-8 without NUL. One value that is not
// would fail the whole batch it travels in, so stores check values that come from outside
// before they join a batch.
bool is_storable_text(std::string_view text);

class ArrayLiteral {
public:
    ArrayLiteral() : text_("{") {}

    void add_text(std::string_view value);  // `value` must be storable text.
    void add_int(std::int64_t value);
    void add_bool(bool value);
    void add_null();
    // NULL when absent.
    void add_optional_text(const std::optional<std::string>& value) {
        value ? add_text(std::string_view(*value)) : add_null();
    }

    std::size_t size() const { return size_; }
    // The literal, e.g. {"a","b\"c",NULL}.
    std::string text() const { return text_ + "}"; }

private:
    void separate();

    std::string text_;
    std::size_t size_ = 0;
};

}  // namespace tigerfans::postgres

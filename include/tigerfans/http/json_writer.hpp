// Small flat JSON objects written straight into a string, for the hot answers (checkout,
// webhook, order status, the isolated accounting calls), where building an nlohmann document
// and dumping it cost more than the rest of the handler. Members come out in the order they
// are written: callers write them in alphabetical order, the order of nlohmann's std::map, so
// the bytes equal what nlohmann's dump() writes for the same members. Strings are escaped exactly
// as nlohmann's dump() escapes them. Hot answers carry only text the server made; anything quoting
// a request stays on nlohmann (http/errors.hpp), which also handles bytes that are not UTF-8.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tigerfans::http {

class JsonObjectWriter {
public:
    explicit JsonObjectWriter(std::size_t reserve_bytes = json_object_reserve_bytes);

    JsonObjectWriter& string(std::string_view key, std::string_view value);
    JsonObjectWriter& integer(std::string_view key, std::int64_t value);
    JsonObjectWriter& boolean(std::string_view key, bool value);
    JsonObjectWriter& null(std::string_view key);
    // An array of integers, written as nlohmann writes one: [1,2,3].
    JsonObjectWriter& integers(std::string_view key, std::span<const std::uint32_t> values);

    // Closes the object and hands its text over; the writer is done.
    std::string finish() &&;

    static constexpr std::size_t json_object_reserve_bytes = 192;

private:
    void key(std::string_view name);

    std::string text_;
    bool first_ = true;
    bool finished_ = false;
};

// Appends `value` as a quoted JSON string, escaped as nlohmann's dump() does.
void append_json_string(std::string& out, std::string_view value);

}  // namespace tigerfans::http

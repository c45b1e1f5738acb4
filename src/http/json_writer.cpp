// Hand-written JSON objects for the hot answers (see json_writer.hpp).
#include "tigerfans/http/json_writer.hpp"

#include <charconv>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::http {

namespace {

// nlohmann's escapes: the short forms it knows, \u00xx (lower-case hex) for other controls.
void append_escaped(std::string& out, unsigned char c) {
    static constexpr char hex[] = "0123456789abcdef";
    switch (c) {
        case '"': out.append("\\\""); return;
        case '\\': out.append("\\\\"); return;
        case '\b': out.append("\\b"); return;
        case '\f': out.append("\\f"); return;
        case '\n': out.append("\\n"); return;
        case '\r': out.append("\\r"); return;
        case '\t': out.append("\\t"); return;
        default: break;
    }
    TF_ASSERT(c < 0x20);
    const char escape[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
    out.append(escape, sizeof(escape));
}

bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

}  // namespace

void append_json_string(std::string& out, std::string_view value) {
    out.push_back('"');
    std::size_t plain_from = 0;
    for (std::size_t i = 0; i < value.size(); i++) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (!needs_escape(c)) continue;
        out.append(value.substr(plain_from, i - plain_from));
        append_escaped(out, c);
        plain_from = i + 1;
    }
    out.append(value.substr(plain_from));
    out.push_back('"');
}

JsonObjectWriter::JsonObjectWriter(std::size_t reserve_bytes) {
    text_.reserve(reserve_bytes);
    text_.push_back('{');
}

void JsonObjectWriter::key(std::string_view name) {
    TF_ASSERT(!finished_);
    if (!first_) text_.push_back(',');
    first_ = false;
    append_json_string(text_, name);
    text_.push_back(':');
}

JsonObjectWriter& JsonObjectWriter::string(std::string_view name, std::string_view value) {
    key(name);
    append_json_string(text_, value);
    return *this;
}

JsonObjectWriter& JsonObjectWriter::integers(std::string_view name,
                                             std::span<const std::uint32_t> values) {
    key(name);
    text_.push_back('[');
    for (std::size_t i = 0; i < values.size(); i++) {
        if (i > 0) text_.push_back(',');
        char digits[12];
        const auto [end, error] = std::to_chars(digits, digits + sizeof(digits), values[i]);
        TF_ASSERT(error == std::errc());
        text_.append(digits, end);
    }
    text_.push_back(']');
    return *this;
}

JsonObjectWriter& JsonObjectWriter::integer(std::string_view name, std::int64_t value) {
    key(name);
    char digits[24];
    const auto [end, error] = std::to_chars(digits, digits + sizeof(digits), value);
    TF_ASSERT(error == std::errc());
    text_.append(digits, end);
    return *this;
}

JsonObjectWriter& JsonObjectWriter::boolean(std::string_view name, bool value) {
    key(name);
    text_.append(value ? "true" : "false");
    return *this;
}

JsonObjectWriter& JsonObjectWriter::null(std::string_view name) {
    key(name);
    text_.append("null");
    return *this;
}

std::string JsonObjectWriter::finish() && {
    TF_ASSERT(!finished_);
    finished_ = true;
    text_.push_back('}');
    return std::move(text_);
}

}  // namespace tigerfans::http

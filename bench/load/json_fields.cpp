// One-pass member lookup in JSON object text (see json_fields.hpp).
#include "load/json_fields.hpp"

#include <charconv>
#include <cstddef>

namespace tigerfans::loadgen {

namespace {

constexpr std::size_t nesting_depth_max = 64;
constexpr std::size_t npos = std::string_view::npos;

std::size_t skip_space(std::string_view text, std::size_t at) {
    while (at < text.size() &&
           (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r')) {
        at++;
    }
    return at;
}

// `at` is on an opening quote; returns the index after the closing one, npos if unterminated.
std::size_t skip_string(std::string_view text, std::size_t at) {
    for (at++; at < text.size(); at++) {
        if (text[at] == '\\') {
            at++;
        } else if (text[at] == '"') {
            return at + 1;
        }
    }
    return npos;
}

// An object or array: counts brackets outside strings.
std::size_t skip_nested(std::string_view text, std::size_t at) {
    std::size_t depth = 0;
    while (at < text.size()) {
        const char c = text[at];
        if (c == '"') {
            at = skip_string(text, at);
            if (at == npos) return npos;
            continue;
        }
        if (c == '{' || c == '[') depth++;
        if ((c == '{' || c == '[') && depth > nesting_depth_max) return npos;
        if (c == '}' || c == ']') depth--;
        at++;
        if (depth == 0) return at;
    }
    return npos;
}

// A number or a literal: runs to the next delimiter.
std::size_t skip_scalar(std::string_view text, std::size_t at) {
    const std::size_t end = text.find_first_of(",}] \t\r\n", at);
    return end == npos || end == at ? npos : end;
}

std::size_t skip_value(std::string_view text, std::size_t at) {
    if (at >= text.size()) return npos;
    if (text[at] == '"') return skip_string(text, at);
    if (text[at] == '{' || text[at] == '[') return skip_nested(text, at);
    return skip_scalar(text, at);
}

}  // namespace

std::optional<std::string_view> json_member(std::string_view object, std::string_view name) {
    std::size_t at = skip_space(object, 0);
    if (at >= object.size() || object[at] != '{') return std::nullopt;
    at = skip_space(object, at + 1);
    while (at < object.size() && object[at] == '"') {
        const std::size_t key_end = skip_string(object, at);
        if (key_end == npos) return std::nullopt;
        const std::string_view key = object.substr(at + 1, key_end - at - 2);
        at = skip_space(object, key_end);
        if (at >= object.size() || object[at] != ':') return std::nullopt;
        const std::size_t value_start = skip_space(object, at + 1);
        const std::size_t value_end = skip_value(object, value_start);
        if (value_end == npos) return std::nullopt;
        if (key == name) return object.substr(value_start, value_end - value_start);
        at = skip_space(object, value_end);
        if (at >= object.size() || object[at] != ',') return std::nullopt;
        at = skip_space(object, at + 1);
    }
    return std::nullopt;
}

std::optional<std::string_view> json_string_member(std::string_view object, std::string_view name) {
    const auto raw = json_member(object, name);
    if (!raw || raw->size() < 2 || raw->front() != '"') return std::nullopt;
    const std::string_view text = raw->substr(1, raw->size() - 2);
    if (text.find('\\') != npos) return std::nullopt;
    return text;
}

std::optional<std::int64_t> json_integer_member(std::string_view object, std::string_view name) {
    const auto raw = json_member(object, name);
    if (!raw) return std::nullopt;
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(raw->data(), raw->data() + raw->size(), value);
    if (error != std::errc() || end != raw->data() + raw->size()) return std::nullopt;
    return value;
}

std::optional<double> json_number_member(std::string_view object, std::string_view name) {
    const auto raw = json_member(object, name);
    if (!raw || raw->empty() || raw->front() == '+') return std::nullopt;
    double value = 0;
    auto [end, error] = std::from_chars(raw->data(), raw->data() + raw->size(), value);
    if (error != std::errc() || end != raw->data() + raw->size()) return std::nullopt;
    return value;
}

}  // namespace tigerfans::loadgen

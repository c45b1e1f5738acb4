// Hand-written HTTP/1.1 response head parsing for the load client (see response_parser.hpp).
#include "load/response_parser.hpp"

#include <strings.h>

#include <charconv>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::loadgen {

namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view head_end = "\r\n\r\n";

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool lists_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const std::size_t comma = value.find(',');
        if (equals_ignoring_case(trim(value.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

// "HTTP/1.1 200 OK": fills the status and the version's keep-alive default.
bool parse_status_line(std::string_view line, ResponseHead& head) {
    constexpr std::string_view prefix = "HTTP/1.";
    constexpr std::size_t status_offset = prefix.size() + 2;  // After "HTTP/1.x ".
    if (line.size() < status_offset + 3 || !line.starts_with(prefix)) return false;
    const char minor = line[prefix.size()];
    if ((minor != '0' && minor != '1') || line[prefix.size() + 1] != ' ') return false;
    const std::string_view code = line.substr(status_offset, 3);
    for (char c : code) {
        if (c < '0' || c > '9') return false;
    }
    if (line.size() > status_offset + 3 && line[status_offset + 3] != ' ') return false;
    head.status =
        static_cast<unsigned>((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
    head.keep_alive = minor == '1';
    return head.status >= 200;  // No interim answers: the load client never asks for one.
}

bool parse_length(std::string_view text, std::size_t& length) {
    if (text.empty()) return false;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), length);
    return error == std::errc() && end == text.data() + text.size();
}

struct HeaderFacts {
    bool has_length = false;
    std::size_t length = 0;
    bool chunked_or_coded = false;
};

// One "Name: value" line; false when it is malformed or contradicts an earlier one.
bool parse_header_line(std::string_view line, ResponseHead& head, HeaderFacts& facts) {
    const std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (equals_ignoring_case(name, "content-length")) {
        std::size_t length = 0;
        if (!parse_length(value, length)) return false;
        if (facts.has_length && facts.length != length) return false;
        facts.has_length = true;
        facts.length = length;
    } else if (equals_ignoring_case(name, "transfer-encoding")) {
        facts.chunked_or_coded = true;
    } else if (equals_ignoring_case(name, "location")) {
        head.location = value;
    } else if (equals_ignoring_case(name, "connection")) {
        if (lists_token(value, "keep-alive")) head.keep_alive = true;
        if (lists_token(value, "close")) head.keep_alive = false;  // Close wins over both.
    }
    return true;
}

bool has_no_body(unsigned status, bool head_request) {
    return head_request || status == 204 || status == 304;
}

}  // namespace

HeadParse parse_response_head(std::string_view bytes, bool head_request, std::size_t body_bytes_max,
                              ResponseHead& head) {
    const std::size_t end = bytes.find(head_end);
    if (end == std::string_view::npos) {
        return bytes.size() > response_head_bytes_max ? HeadParse::too_large
                                                      : HeadParse::incomplete;
    }
    if (end + head_end.size() > response_head_bytes_max) return HeadParse::too_large;
    head = ResponseHead{};
    std::string_view lines = bytes.substr(0, end + crlf.size());
    std::size_t line_end = lines.find(crlf);
    if (!parse_status_line(lines.substr(0, line_end), head)) return HeadParse::invalid;
    HeaderFacts facts;
    for (lines.remove_prefix(line_end + crlf.size()); !lines.empty();
         lines.remove_prefix(line_end + crlf.size())) {
        line_end = lines.find(crlf);
        TF_ASSERT(line_end != std::string_view::npos);
        if (!parse_header_line(lines.substr(0, line_end), head, facts)) return HeadParse::invalid;
    }
    head.head_bytes = end + head_end.size();
    if (has_no_body(head.status, head_request)) return HeadParse::complete;
    if (facts.chunked_or_coded || !facts.has_length) return HeadParse::invalid;
    if (facts.length > body_bytes_max) return HeadParse::too_large;
    head.body_bytes = facts.length;
    return HeadParse::complete;
}

}  // namespace tigerfans::loadgen

// If-None-Match against one ETag.
#include "tigerfans/http/etag.hpp"

#include "tigerfans/core/crypto.hpp"

namespace tigerfans::http {

namespace {
constexpr std::size_t etag_hex_digits = 24;

std::string_view trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The opaque part of a tag: without a weak prefix, so that W/"x" and "x" compare equal.
std::string_view opaque(std::string_view tag) {
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    return tag;
}
}  // namespace

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    if (etag.empty()) return false;
    while (!if_none_match.empty()) {
        const auto comma = if_none_match.find(',');
        const std::string_view tag = trimmed(if_none_match.substr(0, comma));
        if (tag == "*" || (!tag.empty() && opaque(tag) == opaque(etag))) return true;
        if (comma == std::string_view::npos) break;
        if_none_match.remove_prefix(comma + 1);
    }
    return false;
}

std::string etag_of(std::string_view content) {
    return "\"" + sha256_hex(content).substr(0, etag_hex_digits) + "\"";
}

}  // namespace tigerfans::http

// If-None-Match against one ETag.
#include "tigerfans/http/etag.hpp"

#include "tigerfans/core/crypto.hpp"
#include "tigerfans/http/header_lists.hpp"

namespace tigerfans::http {

namespace {
constexpr std::size_t etag_hex_digits = 24;

// The opaque part of a tag: without a weak prefix, so that W/"x" and "x" compare equal.
std::string_view opaque(std::string_view tag) {
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    return tag;
}
}  // namespace

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    if (etag.empty()) return false;
    return any_member(if_none_match, ',', [etag](std::string_view tag) {
        return tag == "*" || (!tag.empty() && opaque(tag) == opaque(etag));
    });
}

std::string etag_of(std::string_view content) {
    return "\"" + sha256_hex(content).substr(0, etag_hex_digits) + "\"";
}

}  // namespace tigerfans::http

// Conditional GETs: whether an If-None-Match header names the ETag an answer would carry, so
// the server can answer 304 without a body (RFC 9110 §13.1.2: a list of tags, `*`, weak tags
// compared weakly).
#pragma once

#include <string>
#include <string_view>

namespace tigerfans::http {

// A strong tag naming `content`: 96 bits of its SHA-256 in hex, quoted. Every process and build
// gives the same content the same tag.
std::string etag_of(std::string_view content);

// `etag` is quoted, as the ETag header carries it. An empty header matches nothing.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace tigerfans::http

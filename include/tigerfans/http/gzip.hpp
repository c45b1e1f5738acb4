// Compressed answers (RFC 9110 §8.4.1.3): a large answer that many readers fetch unchanged, such
// as the seat map, is compressed once when it is made and the compressed bytes are sent to every
// reader whose Accept-Encoding allows gzip. Readers that do not ask for it get the plain body.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tigerfans::http {

// The gzip member of `content` (zlib's fastest level: the answers compressed are made often).
std::string gzip(std::string_view content);

// The content of one gzip member, or nullopt when `compressed` is not one or would inflate past
// `size_max` bytes.
std::optional<std::string> gunzip(std::string_view compressed, std::size_t size_max);

// Whether an Accept-Encoding header lets the answer be gzip: `gzip`, `x-gzip` or `*` listed
// without `q=0` (a `gzip;q=0` wins over `*`). An empty header allows only the plain body.
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace tigerfans::http

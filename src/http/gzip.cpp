// gzip through zlib, and Accept-Encoding's say.
#include "tigerfans/http/gzip.hpp"

#include <zlib.h>

#include <strings.h>

#include <algorithm>
#include <limits>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/http/header_lists.hpp"

namespace tigerfans::http {

namespace {
// zlib's window of 2^15 bytes, plus 16: a gzip header and trailer rather than zlib's.
constexpr int gzip_window_bits = 15 + 16;
constexpr int memory_level = 8;  // zlib's default.
constexpr std::size_t inflate_chunk_bytes = 16 * 1024;

Bytef* bytes_of(std::string_view text) {
    // zlib's input pointer is not const, though deflate and inflate only read through it.
    return reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
}

bool is_gzip(std::string_view coding) {
    const auto named = [coding](std::string_view name) {
        return coding.size() == name.size() &&
               strncasecmp(coding.data(), name.data(), name.size()) == 0;
    };
    return named("gzip") || named("x-gzip");
}

// A coding's weight is zero only for `q=0`, `q=0.`, `q=0.0`, ... (RFC 9110 §12.4.2).
bool weight_is_zero(std::string_view parameters) {
    bool zero = false;
    any_member(parameters, ';', [&zero](std::string_view parameter) {
        if (parameter.size() < 2 || (parameter[0] != 'q' && parameter[0] != 'Q') ||
            parameter[1] != '=') {
            return false;
        }
        const std::string_view value = parameter.substr(2);
        zero = !value.empty() && value[0] == '0' &&
               value.find_first_not_of("0.") == std::string_view::npos;
        return true;  // The weight is the first q.
    });
    return zero;
}
}  // namespace

std::string gzip(std::string_view content) {
    TF_ASSERT(content.size() <= std::numeric_limits<uInt>::max());
    z_stream stream{};
    const int started = deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, gzip_window_bits,
                                     memory_level, Z_DEFAULT_STRATEGY);
    TF_ASSERT_EQ(started, Z_OK);  // Only memory or a bad argument can refuse.
    std::string out(deflateBound(&stream, static_cast<uLong>(content.size())), '\0');
    stream.next_in = bytes_of(content);
    stream.avail_in = static_cast<uInt>(content.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int finished = deflate(&stream, Z_FINISH);
    TF_ASSERT_EQ(finished, Z_STREAM_END);  // deflateBound leaves room for all of it.
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

std::optional<std::string> gunzip(std::string_view compressed, std::size_t size_max) {
    if (compressed.size() > std::numeric_limits<uInt>::max()) return std::nullopt;
    z_stream stream{};
    if (inflateInit2(&stream, gzip_window_bits) != Z_OK) return std::nullopt;
    stream.next_in = bytes_of(compressed);
    stream.avail_in = static_cast<uInt>(compressed.size());
    std::string out;
    int status = Z_OK;
    while (status == Z_OK) {
        const std::size_t used = out.size();
        // One byte past the limit, at most: enough to tell that the content is too long.
        const std::size_t left = size_max - used;
        const std::size_t room = left < inflate_chunk_bytes ? left + 1 : inflate_chunk_bytes;
        out.resize(used + room);
        stream.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        stream.avail_out = static_cast<uInt>(room);
        status = inflate(&stream, Z_NO_FLUSH);
        out.resize(used + room - stream.avail_out);
        if (out.size() > size_max) status = Z_BUF_ERROR;
    }
    // One member exactly: nothing may follow its trailer.
    const bool whole = status == Z_STREAM_END && stream.avail_in == 0;
    inflateEnd(&stream);
    if (!whole) return std::nullopt;
    return out;
}

bool accepts_gzip(std::string_view accept_encoding) {
    bool any_allowed = false;
    bool gzip_named = false;
    bool gzip_allowed = false;
    any_member(accept_encoding, ',', [&](std::string_view item) {
        const auto semicolon = item.find(';');
        const std::string_view coding = trim_whitespace(item.substr(0, semicolon));
        const bool allowed =
            semicolon == std::string_view::npos || !weight_is_zero(item.substr(semicolon + 1));
        if (is_gzip(coding)) {
            gzip_named = true;
            gzip_allowed = gzip_allowed || allowed;
        } else if (coding == "*") {
            any_allowed = any_allowed || allowed;
        }
        return false;  // Every member counts.
    });
    return gzip_named ? gzip_allowed : any_allowed;
}

}  // namespace tigerfans::http

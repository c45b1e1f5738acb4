// The load client's HTTP/1.1 response parser, by hand and without copies: the status line,
// Content-Length, Location and Connection, then a body of exactly Content-Length bytes. It
// reads only what the load client needs; anything it cannot frame for certain (chunked bodies,
// no Content-Length, interim 1xx answers) is `invalid`, never misread. Pure functions over
// bytes, so partial reads and pipelined leftovers are unit-tested without sockets.
#pragma once

#include <cstddef>
#include <string_view>

namespace tigerfans::loadgen {

// A head longer than this is refused (the server's own request-head limit is 16 KiB).
inline constexpr std::size_t response_head_bytes_max = 16 * 1024;

struct ResponseHead {
    unsigned status = 0;
    std::size_t head_bytes = 0;  // Status line and header lines, with the blank line.
    std::size_t body_bytes = 0;  // Content-Length; 0 for HEAD, 204 and 304.
    std::string_view location;   // Points into the parsed bytes; empty when absent.
    bool keep_alive = true;      // False on `Connection: close` or HTTP/1.0 without keep-alive.

    std::size_t message_bytes() const { return head_bytes + body_bytes; }
};

enum class HeadParse {
    complete,    // `head` is filled; the body may still be arriving.
    incomplete,  // Read more bytes and parse again.
    invalid,     // Not a response this parser can frame.
    too_large,   // The head exceeds response_head_bytes_max, or the body body_bytes_max.
};

// Parses the response head at the start of `bytes`; `head_request` says the request was a HEAD
// (its answer has no body whatever Content-Length says).
HeadParse parse_response_head(std::string_view bytes, bool head_request, std::size_t body_bytes_max,
                              ResponseHead& head);

}  // namespace tigerfans::loadgen

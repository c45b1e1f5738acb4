// Beast's HTTP/1.1 request parser (its grammar, limits and error codes) writing straight into
// our Request instead of a beast::http::message: the connection keeps one Request and
// overwrites it request after request, so its strings and header list keep their capacity and
// a request on a warm connection allocates nothing. Used by http/server.cpp (and the fuzz
// target that feeds it bytes the same way).
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tigerfans/http/message.hpp"

namespace tigerfans::http {
enum class RequestError;
}  // namespace tigerfans::http

template <>
struct boost::system::is_error_code_enum<tigerfans::http::RequestError> : std::true_type {};

namespace tigerfans::http {

// RFC 9112 §6.1: a request body is framed by Content-Length or by a final "chunked" coding.
// True when `codings` (a Transfer-Encoding list) ends in "chunked".
bool ends_in_chunked(std::string_view codings);

// What this parser refuses beyond Beast's grammar, in an error category of its own, each with a
// message a client can act on (the 400's body carries it).
enum class RequestError {
    // RFC 9112 §3.2: an HTTP/1.1 request names its host; any request names it at most once,
    // as a host name or address with an optional port.
    missing_host = 1,
    repeated_host,
    bad_host,
};
boost::system::error_code make_error_code(RequestError error);

class RequestParser final : public boost::beast::http::basic_parser<true> {
public:
    // Fills `request` (all but remote_address) while parsing; limits in bytes.
    RequestParser(Request& request, std::size_t header_bytes_max, std::size_t body_bytes_max);

    // The most bytes that may wait in the buffer unparsed: Beast holds back a line of a chunked
    // body (its size and extensions) and the trailer after the last chunk until they end, and
    // bounds neither. The header limit bounds them too.
    std::size_t unparsed_bytes_max() const { return header_bytes_max_; }
    // HTTP/1.1 or later (a 1.0 client knows no 100 Continue, for one).
    bool is_http11() const { return version_ >= 11; }

    // The header's bytes as they came on the wire, whitespace and all, are bounded across
    // reads: Beast bounds what one put() looks at, and parses the fields of a header that
    // arrived over several reads from where the last one stopped. parse_buffered lowers the
    // limit by what earlier reads of the header used (false: none is left) and counts each.
    bool leave_header_room();
    void count_header_bytes(std::size_t used) { header_wire_bytes_ += used; }
    // How many of the chunked body's bytes waiting unparsed parse_buffered has looked at for a
    // bare LF (valid while nothing was consumed since).
    std::size_t body_bytes_checked = 0;
    // No chunk's data is due: what waits unparsed is a size line or the trailer.
    bool between_chunks() const { return chunk_data_left_ == 0; }

private:
    using error_code = boost::beast::error_code;
    using verb = boost::beast::http::verb;
    using field = boost::beast::http::field;
    using string_view = boost::beast::string_view;

    void on_request_impl(verb method, string_view method_text, string_view target, int version,
                         error_code& error) override;
    void on_response_impl(int status, string_view reason, int version, error_code& error) override;
    void on_field_impl(field name, string_view name_text, string_view value,
                       error_code& error) override;
    void on_header_impl(error_code& error) override;
    void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                           error_code& error) override;
    std::size_t on_body_impl(string_view body, error_code& error) override;
    void on_chunk_header_impl(std::uint64_t size, string_view extensions,
                              error_code& error) override;
    std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body,
                                   error_code& error) override;
    void on_finish_impl(error_code& error) override;

    Request& request_;
    std::size_t header_bytes_max_;
    int version_ = 0;  // 10 for HTTP/1.0, 11 for 1.1.
    std::size_t header_count_ = 0;
    // The request line's and the fields' bytes so far: Beast bounds what waits unparsed in one
    // put(), not the header as a whole, which arrives over several.
    std::size_t header_bytes_ = 0;
    std::size_t header_wire_bytes_ = 0;  // What put() used while the header was unfinished.
    bool saw_transfer_encoding_ = false;
    int host_fields_ = 0;
    std::uint64_t chunk_data_left_ = 0;  // Of the chunk being read; 0 between chunks.
    std::string target_authority_;       // An absolute-form target's host and port; else empty.
    std::string transfer_codings_;       // Every Transfer-Encoding field's value, comma-joined.
};

// Feeds what `buffer` holds to `parser` and consumes what it parsed: no error once the request
// is complete, need_more while bytes are missing, any other error when the request is malformed
// or over a limit (header_limit too when more than unparsed_bytes_max() wait unparsed).
boost::beast::error_code parse_buffered(RequestParser& parser, boost::beast::flat_buffer& buffer);

// The peer closed its side: end_of_stream when no byte of a request had arrived, otherwise the
// parser's error for the unfinished request (partial_message when it has none of its own).
boost::beast::error_code parse_end_of_stream(RequestParser& parser);

}  // namespace tigerfans::http

// The server's own wire code without sockets: response heads formatted by hand (the bytes
// Beast's serializer wrote), and Beast's parser filling a reused Request (nothing of the
// previous request left behind, chunked bodies, bytes arriving in pieces, limits, errors).
#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "http/request_parser.hpp"
#include "http/response_head.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::http {
namespace {

namespace bhttp = boost::beast::http;

TEST(ResponseHead, HasStatusServerTypeExtrasLengthInThatOrder) {
    Response response = Response::redirect("/there");
    response.with_header("Set-Cookie", "a=1").with_header("Cache-Control", "no-store");
    response.body = "moved";
    std::string head = "left over from the previous response";
    format_response_head(head, response, true);
    EXPECT_EQ(head,
              "HTTP/1.1 303 See Other\r\nServer: tigerfans\r\n"
              "Content-Type: text/plain; charset=utf-8\r\nLocation: /there\r\n"
              "Set-Cookie: a=1\r\nCache-Control: no-store\r\nContent-Length: 5\r\n\r\n");
}

TEST(ResponseHead, SaysCloseWhenClosingAndOmitsAnEmptyContentType) {
    Response response = Response::json(503, "{}");
    response.content_type.clear();
    std::string head;
    format_response_head(head, response, false);
    EXPECT_EQ(head,
              "HTTP/1.1 503 Service Unavailable\r\nServer: tigerfans\r\nContent-Length: 2\r\n"
              "Connection: close\r\n\r\n");
}

// RFC 9110 §8.6: no Content-Length on a 304 (it would have to be the 200's) nor on a 204.
TEST(ResponseHead, GivesA304OrA204NoContentLength) {
    for (const unsigned status : {204u, 304u}) {
        EXPECT_TRUE(is_bodiless(status));
        std::string head;
        format_response_head(head, Response::text(status, "a body is never sent", {}), true);
        EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
        EXPECT_TRUE(head.ends_with("Server: tigerfans\r\n\r\n")) << head;
    }
}

TEST(ResponseHead, UsesBeastsReasonPhrases) {
    std::string head;
    for (const auto& [status, line] : std::vector<std::pair<unsigned, std::string>>{
             {200, "HTTP/1.1 200 OK\r\n"},
             {404, "HTTP/1.1 404 Not Found\r\n"},
             {405, "HTTP/1.1 405 Method Not Allowed\r\n"},
             {409, "HTTP/1.1 409 Conflict\r\n"},
             {413, "HTTP/1.1 413 Payload Too Large\r\n"},
             {299, "HTTP/1.1 299 <unknown-status>\r\n"}}) {
        format_response_head(head, Response::json(status, ""), true);
        EXPECT_TRUE(head.starts_with(line)) << head;
    }
}

// Feeds `bytes` to a fresh parser over `request`, as the server does for each request.
boost::beast::error_code parse(Request& request, std::string_view bytes,
                               std::size_t body_max = 1024) {
    RequestParser parser(request, 1024, body_max);
    boost::beast::error_code error;
    const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), error);
    if (!error && !parser.is_done()) return bhttp::error::need_more;
    EXPECT_TRUE(error || used == bytes.size());
    return error;
}

TEST(RequestParser, FillsMethodTargetPathQueryHeadersAndBody) {
    Request request;
    ASSERT_FALSE(parse(request,
                       "POST /api/orders/a%20b?x=1&y=2 HTTP/1.1\r\nHost: h\r\n"
                       "X-Tag: one\r\nContent-Length: 4\r\n\r\nbody"));
    EXPECT_EQ(request.method, Method::post);
    EXPECT_EQ(request.target, "/api/orders/a%20b?x=1&y=2");
    EXPECT_EQ(request.path, "/api/orders/a b");
    EXPECT_EQ(request.query, "x=1&y=2");
    ASSERT_EQ(request.headers.size(), 3u);
    EXPECT_EQ(request.headers[1].first, "X-Tag");
    EXPECT_EQ(request.header("x-tag"), "one");
    EXPECT_EQ(request.body, "body");
}

TEST(RequestParser, LeavesNothingOfThePreviousRequestInAReusedOne) {
    Request request;
    ASSERT_FALSE(parse(request,
                       "POST /a/b?q=1 HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nX-Two: 2\r\n"
                       "Content-Length: 3\r\n\r\nabc"));
    request.path_params.emplace_back("id", "b");
    ASSERT_FALSE(parse(request, "GET /c%ZZ HTTP/1.1\r\nhost: other\r\n\r\n"));
    EXPECT_EQ(request.method, Method::get);
    EXPECT_EQ(request.path, "/c%ZZ");  // A malformed escape leaves the raw path.
    EXPECT_TRUE(request.query.empty());
    EXPECT_TRUE(request.body.empty());
    EXPECT_TRUE(request.path_params.empty());
    ASSERT_EQ(request.headers.size(), 1u);
    EXPECT_EQ(request.headers[0].first, "host");
    EXPECT_EQ(request.headers[0].second, "other");
}

// A header naming a large body reserves a little only: a hundred bytes of header and one of
// body cannot pin the largest body's memory on a connection while the rest never comes.
TEST(RequestParser, AContentLengthReservesLittleBeforeTheBodyArrives) {
    Request request;
    const std::string head = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 65536\r\n\r\n";
    EXPECT_EQ(parse(request, head + "x", limits::http_body_bytes_max), bhttp::error::need_more);
    EXPECT_LE(request.body.capacity(), limits::http_body_reserve_bytes_max);
    const std::string body(65536, 'x');
    ASSERT_FALSE(parse(request, head + body, limits::http_body_bytes_max));
    EXPECT_EQ(request.body, body);
}

TEST(RequestParser, JoinsChunkedBodies) {
    Request request;
    ASSERT_FALSE(parse(request,
                       "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
    EXPECT_EQ(request.body, "abcde");
}

// A body framed by anything but a final "chunked" is refused (RFC 9112 §6.1): otherwise its
// bytes would be taken for the next request.
TEST(RequestParser, RefusesATransferEncodingThatDoesNotEndInChunked) {
    Request request;
    for (const char* codings : {"gzip", "xchunked", "chunked, gzip", "chunkedx", "identity"}) {
        EXPECT_EQ(parse(request, std::string("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ") +
                                     codings + "\r\n\r\nGET /admin HTTP/1.1\r\nHost: h\r\n\r\n"),
                  bhttp::error::bad_transfer_encoding)
            << codings;
    }
    EXPECT_EQ(parse(request,
                    "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
              boost::beast::error_code{});
    EXPECT_TRUE(ends_in_chunked("gzip, Chunked "));
    EXPECT_FALSE(ends_in_chunked("chunked,"));
}

// An empty Transfer-Encoding frames nothing either, and on HTTP/1.0 any Transfer-Encoding is
// faulty framing (RFC 9112 §6.1), beside a Content-Length or not.
TEST(RequestParser, RefusesAnEmptyTransferEncodingAndAnyOnHttp10) {
    Request request;
    EXPECT_EQ(
        parse(request,
              "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\nContent-Length: 3\r\n\r\nabc"),
        bhttp::error::bad_transfer_encoding);
    EXPECT_EQ(parse(request,
                    "POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
              bhttp::error::bad_transfer_encoding);
    EXPECT_EQ(parse(request, "POST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"),
              boost::beast::error_code{});
}

// RFC 9112 §3.2.2: a target in absolute form is taken as the path and query it names; a
// target in no form this server serves ("*", an authority, a bare query) is refused.
TEST(RequestParser, TakesAnAbsoluteFormTargetAsItsPathAndRefusesOtherForms) {
    Request request;
    ASSERT_FALSE(parse(
        request, "GET http://example.com:8000/api/inventory?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"));
    EXPECT_EQ(request.target, "/api/inventory?x=1");
    EXPECT_EQ(request.path, "/api/inventory");
    EXPECT_EQ(request.query, "x=1");
    EXPECT_EQ(request.header("Host"), "example.com:8000");  // The target's, not the field's.
    ASSERT_FALSE(parse(request, "GET HTTPS://example.com HTTP/1.1\r\nHost: h\r\n\r\n"));
    EXPECT_EQ(request.path, "/");
    ASSERT_FALSE(parse(request, "GET http://example.com?q=2 HTTP/1.1\r\nHost: h\r\n\r\n"));
    EXPECT_EQ(request.path, "/");
    EXPECT_EQ(request.query, "q=2");
    ASSERT_FALSE(parse(request, "GET http://[::1]:8000/api/a%20b HTTP/1.1\r\nHost: h\r\n\r\n"));
    EXPECT_EQ(request.path, "/api/a b");
    ASSERT_FALSE(parse(request, "GET http://shop.example/a HTTP/1.0\r\n\r\n"));
    EXPECT_EQ(request.header("Host"), "shop.example");
    for (const char* target :
         {"*", "?a=1", "example.com:443", "api/inventory", "http://shop.example#/admin/login",
          "http://x@y/a", "http://x\\y/a", "http:///admin", "http://%41/"}) {
        EXPECT_EQ(parse(request, std::string("GET ") + target + " HTTP/1.1\r\nHost: h\r\n\r\n"),
                  bhttp::error::bad_target)
            << target;
    }
}

// RFC 9112 §3.2: an HTTP/1.1 request without Host, any request with two, or one whose Host is
// not a host and port, is refused, each with its own message; HTTP/1.0 may leave Host out, and
// an empty Host is what a client sends for a target without an authority.
TEST(RequestParser, RefusesAMissingRepeatedOrMalformedHost) {
    Request request;
    const boost::system::error_code missing = parse(request, "GET /x HTTP/1.1\r\n\r\n");
    EXPECT_EQ(missing, make_error_code(RequestError::missing_host));
    EXPECT_NE(missing.message().find("Host"), std::string::npos) << missing.message();
    EXPECT_EQ(parse(request, "GET /x HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
              make_error_code(RequestError::repeated_host));
    EXPECT_EQ(parse(request, "GET /x HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"),
              make_error_code(RequestError::repeated_host));
    for (const char* host :
         {"a@b", "a/b", "a b", "%41", "a\\b", "a#b", "::1:8000", "::1", "a:b", "a:80:80",
          "a:123456", ":80", "[::1", "::1]:80", "[a.b]:80", "[]", "[::1]x", "a[1]", "[::1]:8x"}) {
        EXPECT_EQ(parse(request, std::string("GET /x HTTP/1.1\r\nHost: ") + host + "\r\n\r\n"),
                  make_error_code(RequestError::bad_host))
            << host;
    }
    EXPECT_FALSE(parse(request, "GET /x HTTP/1.0\r\n\r\n"));
    EXPECT_FALSE(parse(request, "GET /x HTTP/1.1\r\nHost:\r\n\r\n"));
    for (const char* host : {"[::1]:8000", "[::1]", "[::ffff:127.0.0.1]:80", "shop.example.com",
                             "node_1.internal:80", "127.0.0.1:8000", "a:"}) {
        EXPECT_FALSE(parse(request, std::string("GET /x HTTP/1.1\r\nHost: ") + host + "\r\n\r\n"))
            << host;
    }
}

// Bytes read from the socket land behind what the buffer holds.
void arrive(boost::beast::flat_buffer& buffer, std::string_view bytes) {
    std::memcpy(buffer.prepare(bytes.size()).data(), bytes.data(), bytes.size());
    buffer.commit(bytes.size());
}

// Feeds `bytes` to a parser with a 1 KiB header limit in reads of the sizes `reads` gives (the
// last size repeating), parsing after each as the server does, until a verdict other than
// need_more.
boost::beast::error_code feed_until_verdict(Request& request, std::string_view bytes,
                                            std::vector<std::size_t> reads) {
    RequestParser parser(request, 1024, 1024);
    boost::beast::flat_buffer buffer;
    boost::beast::error_code error = bhttp::error::need_more;
    for (std::size_t at = 0, read = 0; at < bytes.size() && error == bhttp::error::need_more;
         read = std::min(read + 1, reads.size() - 1)) {
        const std::string_view piece = bytes.substr(at, reads[read]);
        at += piece.size();
        arrive(buffer, piece);
        error = parse_buffered(parser, buffer);
    }
    return error;
}

// The header limit bounds the whole header, however many fields it is spread over and however
// the bytes arrive.
TEST(RequestParser, BoundsTheWholeHeaderNotEachPiece) {
    Request request;
    std::string many = "GET /x HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 120; i++) many += "X-" + std::to_string(100 + i) + ": 1\r\n";
    many += "\r\n";
    ASSERT_GT(many.size(), 1024u);
    EXPECT_EQ(parse(request, many), bhttp::error::header_limit);
    EXPECT_EQ(feed_until_verdict(request, many, {100}), bhttp::error::header_limit);
    // Whitespace around values is not kept, but it came on the wire: it counts.
    std::string padded = "GET /x HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 8; i++) padded += "a:" + std::string(200, ' ') + "b\r\n";
    padded += "\r\n";
    // Beast parses the fields a first read holds whole, then waits for the header's end within
    // its limit: a header in two reads of under the limit each passed it.
    ASSERT_GT(padded.size(), 1024u + 512u);
    EXPECT_EQ(feed_until_verdict(request, padded, {1000, padded.size()}),
              bhttp::error::header_limit);
    std::string few = "GET /x HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 20; i++) few += "X-" + std::to_string(100 + i) + ": 1\r\n";
    EXPECT_FALSE(parse(request, few + "\r\n"));
}

TEST(RequestParser, ReportsIncompleteMalformedAndOversizedRequests) {
    Request request;
    EXPECT_EQ(parse(request, "GET /x HTTP/1.1\r\nHost"), bhttp::error::need_more);
    EXPECT_EQ(parse(request, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nabc"),
              bhttp::error::need_more);
    EXPECT_EQ(parse(request, "GET /x HTTP/1.1\r\nHost: h\r\nBad Line\r\n\r\n"),
              bhttp::error::bad_field);
    EXPECT_EQ(parse(request, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 10),
              bhttp::error::body_limit);
    EXPECT_EQ(
        parse(request, "GET /x HTTP/1.1\r\nHost: h\r\nX: " + std::string(2000, 'a') + "\r\n\r\n"),
        bhttp::error::header_limit);
}

// Feeds `pieces` one after another into one buffer, as reads from the socket arrive, parsing
// after each as the server does; answers the last verdict.
boost::beast::error_code parse_pieces(Request& request,
                                      std::initializer_list<std::string_view> pieces) {
    RequestParser parser(request, 1024, 1024);
    boost::beast::flat_buffer buffer;
    boost::beast::error_code error = bhttp::error::need_more;
    for (std::string_view piece : pieces) {
        EXPECT_EQ(error, bhttp::error::need_more) << "parsed before the last piece";
        arrive(buffer, piece);
        error = parse_buffered(parser, buffer);
    }
    return error;
}

TEST(RequestParser, ParsesPipelinedRequestsFedAByteAtATime) {
    const std::string stream =
        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n";
    Request request;
    boost::beast::flat_buffer buffer;
    std::vector<std::string> bodies;
    std::size_t next = 0;
    while (next < stream.size()) {
        RequestParser parser(request, 1024, 1024);
        boost::beast::error_code error = bhttp::error::need_more;
        while (error == bhttp::error::need_more && next < stream.size()) {
            arrive(buffer, std::string_view(stream).substr(next++, 1));
            error = parse_buffered(parser, buffer);
        }
        ASSERT_FALSE(error) << error.message();
        bodies.push_back(request.path + " " + request.body);
    }
    EXPECT_EQ(bodies, (std::vector<std::string>{"/a abc", "/b de"}));
}

// Beast 1.81 asserts that a chunked body whose first chunk is the last one ("0\r\n") is fed
// again with at least 5 bytes; with asserts on in every build, a client sending its final CRLF
// in separate segments would abort the server.
TEST(RequestParser, WaitsOutALastChunkWhoseEndArrivesByteByByte) {
    Request request;
    EXPECT_EQ(
        parse_pieces(
            request,
            {"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", "\r", "\n"}),
        boost::beast::error_code{});
    EXPECT_TRUE(request.body.empty());
    EXPECT_EQ(
        parse_pieces(request, {"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
                               "0", "\r", "\n", "X", "-", "A: b\r\n\r\n"}),
        boost::beast::error_code{});
}

// Beast bounds the header, not a chunk's size line nor the trailer after the last chunk: it
// keeps either in the buffer until it ends. Past the header limit (1,024 here) the request is
// refused, whether the bytes come in one read or in many.
TEST(RequestParser, RefusesAChunkLineOrTrailerThatOutgrowsTheHeaderLimit) {
    const std::string head = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string extension = "1;" + std::string(1100, 'a');
    Request request;
    EXPECT_EQ(parse_pieces(request, {head, "1;" + std::string(1000, 'a')}),
              bhttp::error::need_more);
    EXPECT_EQ(parse_pieces(request, {head, extension}), bhttp::error::header_limit);
    EXPECT_EQ(parse_pieces(request, {head, "1;", std::string(600, 'a'), std::string(600, 'a')}),
              bhttp::error::header_limit);
    std::string trailer;
    while (trailer.size() <= 1100) trailer += "A: b\r\n";
    EXPECT_EQ(parse_pieces(request, {head, "1\r\nx\r\n0\r\n", trailer}),
              bhttp::error::header_limit);
    // Within the limit both still parse.
    EXPECT_EQ(parse_pieces(request, {head, "1;ext=" + std::string(900, 'a') + "\r\nx\r\n0\r\n",
                                     "A: b\r\n\r\n"}),
              boost::beast::error_code{});
    EXPECT_EQ(request.body, "x");
}

// A chunk's size line or a trailer line ending in a bare LF is refused as it arrives; Beast
// alone would wait for a CR until the idle timeout.
TEST(RequestParser, RefusesABareLineFeedInAChunkedBodyAtOnce) {
    const std::string head = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    Request request;
    EXPECT_EQ(parse_pieces(request, {head, "5\nhello\n0\n\n"}), bhttp::error::bad_line_ending);
    EXPECT_EQ(parse_pieces(request, {head, "5\r\nhello\r\n", "\n"}), bhttp::error::bad_line_ending);
    EXPECT_EQ(parse_pieces(request, {head, "1\r\nx\r\n0\r\n", "A: b\n"}),
              bhttp::error::bad_line_ending);
    // Byte by byte, each read looked at once: the bare LF is found in the read that brings it.
    EXPECT_EQ(parse_pieces(request, {head, "5", ";", "a", "\n"}), bhttp::error::bad_line_ending);
    EXPECT_EQ(parse_pieces(request, {head, "1\r\nx\r\n", "1", "\r", "\n", "y\r\n0\r\n", "\n"}),
              bhttp::error::bad_line_ending);
    // An LF within a chunk's data is data, however the reads cut it (fewer than 5 bytes of it
    // are held back unparsed).
    EXPECT_EQ(parse_pieces(request, {head, "4\r\nab", "\nc", "\r\n0\r\n\r\n"}),
              boost::beast::error_code{});
    EXPECT_EQ(request.body, "ab\nc");
    EXPECT_EQ(parse_pieces(request, {head, "3\r\na\r", "\n", "\r\n0\r\n\r\n"}),
              boost::beast::error_code{});
    EXPECT_EQ(request.body, "a\r\n");
    // A line whose CRLF comes in two reads still waits for its LF.
    EXPECT_EQ(parse_pieces(request, {head, "5\r"}), bhttp::error::need_more);
    EXPECT_EQ(parse_pieces(request, {head, "5\r", "\nhello\r", "\n0\r\n\r\n"}),
              boost::beast::error_code{});
    EXPECT_EQ(request.body, "hello");
}

// A trailer's fields are not headers: a proxy checking the header never sees them.
TEST(RequestParser, KeepsTheTrailersFieldsOutOfTheHeaders) {
    Request request;
    ASSERT_FALSE(parse(request,
                       "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "2\r\nde\r\n0\r\nAuthorization: Bearer t\r\nX-Extra: 1\r\n\r\n"));
    EXPECT_EQ(request.body, "de");
    ASSERT_EQ(request.headers.size(), 2u);
    EXPECT_FALSE(lookup_header(request.headers, "authorization").has_value());
    EXPECT_FALSE(lookup_header(request.headers, "x-extra").has_value());
}

TEST(RequestParser, TellsAnEmptyStreamFromACutOffRequest) {
    Request request;
    RequestParser untouched(request, 1024, 1024);
    EXPECT_EQ(parse_end_of_stream(untouched), bhttp::error::end_of_stream);
    RequestParser cut(request, 1024, 1024);
    boost::beast::flat_buffer buffer;
    const std::string_view head = "GET /x HTTP/1.1\r\nHo";
    arrive(buffer, head);
    EXPECT_EQ(parse_buffered(cut, buffer), bhttp::error::need_more);
    EXPECT_EQ(parse_end_of_stream(cut), bhttp::error::partial_message);
}

}  // namespace
}  // namespace tigerfans::http

// Fuzz target: the bytes a client sends on one connection, read as http/server.cpp reads them.
// The first byte sets how many bytes each read delivers (1 to 256); the rest is the stream.
// Reads go into the connection's buffer, each request is parsed into the one reused Request,
// routed by a Router holding the server's route patterns to handlers that read what the real
// ones read (captures, query, form body, headers), and the response head is formatted; while
// the client keeps the connection alive, the next request follows on the same buffer.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "http/request_parser.hpp"
#include "http/response_head.hpp"
#include "require.hpp"
#include "tigerfans/http/router.hpp"

namespace {

using namespace tigerfans::http;
using tigerfans::fuzz::require;
namespace asio = boost::asio;

// Below the server's limits, so that inputs of a few KiB reach them.
constexpr std::size_t header_bytes_max = 1024;
constexpr std::size_t body_bytes_max = 2048;

asio::awaitable<Response> echo(Request& request) {
    std::string body;
    for (const auto& [name, value] : request.path_params) {
        body.append(name).append("=").append(percent_encode(value)).append("&");
    }
    body.append(request.query_param("limit").value_or(""));
    body.append(form_value(request.body, "t").value_or(""));
    body.append(request.header("Origin"));
    co_return Response::json(200, std::move(body));
}

// A handler failing as one whose store throws: the router answers 500.
asio::awaitable<Response> fail(Request& request) {
    if (!request.path.empty()) throw std::runtime_error("the store failed");
    co_return Response::json(200, "{}");
}

Router make_router() {
    Router router;
    for (const char* pattern :
         {"/", "/healthz", "/api/inventory", "/api/orders/{id}", "/api/orders/{id}/qr.svg",
          "/api/pending", "/mockpay/{psid}", "/static/{name}", "/admin", "/admin/login"}) {
        router.get(pattern, echo);
    }
    for (const char* pattern : {"/api/checkout", "/payments/webhook", "/mockpay/{psid}/emit",
                                "/admin/login", "/admin/logout"}) {
        router.post(pattern, echo);
    }
    router.get("/metrics", fail);
    return router;
}

// The peer's bytes arriving `read_bytes` at a time into the connection's buffer.
class Stream {
public:
    Stream(std::string_view bytes, std::size_t read_bytes)
        : unread_(bytes), read_bytes_(read_bytes) {}

    boost::beast::flat_buffer buffer;

    // False at the end of the stream.
    bool read_some() {
        if (unread_.empty()) return false;
        const std::size_t size = std::min(read_bytes_, unread_.size());
        std::memcpy(buffer.prepare(size).data(), unread_.data(), size);
        buffer.commit(size);
        unread_.remove_prefix(size);
        return true;
    }

private:
    std::string_view unread_;
    std::size_t read_bytes_;
};

// Server::Impl::read_request without the socket.
boost::beast::error_code read_request(Stream& stream, RequestParser& parser) {
    while (true) {
        const boost::beast::error_code parsed = parse_buffered(parser, stream.buffer);
        if (parsed != boost::beast::http::error::need_more) return parsed;
        if (!stream.read_some()) return parse_end_of_stream(parser);
    }
}

Response answer(const Router& router, Request& request) {
    static asio::io_context io;
    std::optional<Response> response;
    asio::co_spawn(io, router.handle(request), [&](std::exception_ptr error, Response answered) {
        require(!error, "the router never throws");
        response = std::move(answered);
    });
    io.restart();
    io.run();
    require(response.has_value(), "every request is answered");
    return std::move(*response);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const Router router = make_router();
    Stream stream({reinterpret_cast<const char*>(data) + 1, size - 1}, data[0] + 1u);
    Request request;
    std::string head;
    while (true) {
        RequestParser parser(request, header_bytes_max, body_bytes_max);
        if (read_request(stream, parser)) return 0;  // Answered 400 or 413, or closed.
        require(request.body.size() <= body_bytes_max, "a body stays within its limit");
        const Response response = answer(router, request);
        const bool keep_alive = parser.keep_alive() && !response.close;
        format_response_head(head, response, keep_alive);
        if (!keep_alive) return 0;
    }
}

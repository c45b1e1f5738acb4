// Boost.Beast HTTP server (one of the few translation units that include Beast). One coroutine
// per connection: read a request, let the router answer it, write, repeat while keep-alive.
#include "tigerfans/http/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cassert>
#include <list>
#include <optional>

#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/errors.hpp"

namespace tigerfans::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

ServerLimits default_server_limits() {
    return ServerLimits{
        limits::http_header_bytes_max,
        limits::http_body_bytes_max,
        limits::http_connections_max,
        std::chrono::milliseconds(limits::http_idle_timeout_ms),
        std::chrono::milliseconds(limits::http_request_timeout_ms),
    };
}

namespace {

struct Connection {
    explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
    beast::tcp_stream stream;
    bool busy = false;  // Between a complete request and its written response.
};

// A request the parser rejected (as opposed to a peer that went away or went quiet).
bool is_malformed(const error_code& error) {
    static const auto& http_category = bhttp::make_error_code(bhttp::error::bad_target).category();
    return error.category() == http_category && error != bhttp::error::end_of_stream &&
           error != bhttp::error::partial_message;
}

Request to_request(bhttp::request<bhttp::string_body>&& message, const std::string& remote) {
    Request request;
    request.method = parse_method(message.method_string());
    request.target = std::string(message.target());
    const std::size_t question = request.target.find('?');
    const std::string_view raw_path = std::string_view(request.target).substr(0, question);
    request.path = percent_decode(raw_path, false).value_or(std::string(raw_path));
    if (question != std::string::npos) request.query = request.target.substr(question + 1);
    request.headers.reserve(8);
    for (const auto& field : message) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.remote_address = remote;
    return request;
}

bhttp::response<bhttp::string_body> to_message(Response&& response, bool head, bool keep_alive) {
    bhttp::response<bhttp::string_body> message{static_cast<bhttp::status>(response.status), 11};
    message.set(bhttp::field::server, "tigerfans");
    if (!response.content_type.empty()) {
        message.set(bhttp::field::content_type, response.content_type);
    }
    for (auto& [name, value] : response.headers) message.insert(name, value);
    const std::size_t body_bytes = response.body.size();
    if (!head) message.body() = std::move(response.body);
    message.content_length(body_bytes);
    message.keep_alive(keep_alive);
    return message;
}

}  // namespace

struct Server::Impl {
    Impl(asio::io_context& io_context, const Router& router_, ServerLimits limits_,
         metrics::Registry& registry)
        : io(io_context),
          router(router_),
          limits(limits_),
          acceptor(io_context),
          drained(io_context),
          requests_total(registry.counter("tigerfans_http_requests_total",
                                          "HTTP requests answered")),
          rejected_connections(registry.counter(
              "tigerfans_http_rejected_connections_total",
              "Connections refused with 503 because connections_max was reached")),
          bad_requests(registry.counter("tigerfans_http_protocol_errors_total",
                                        "Requests that could not be parsed or were too large")),
          open_connections(registry.gauge("tigerfans_http_open_connections",
                                          "Connections currently open")),
          request_seconds(registry.histogram("tigerfans_http_request_seconds",
                                             "Time from a complete request to its response",
                                             metrics::latency_buckets_seconds())) {
        drained.expires_at(asio::steady_timer::time_point::max());
    }

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(tcp::socket socket);
    asio::awaitable<bool> serve_one(Connection& connection, beast::flat_buffer& buffer,
                                    const std::string& remote);
    asio::awaitable<void> reject(tcp::socket socket);
    asio::awaitable<void> write_error(Connection& connection, unsigned status,
                                      std::string_view error, std::string_view detail);

    asio::io_context& io;
    const Router& router;
    ServerLimits limits;
    tcp::acceptor acceptor;
    asio::steady_timer drained;
    std::list<Connection*> connections;
    bool stopping = false;

    metrics::Counter& requests_total;
    metrics::Counter& rejected_connections;
    metrics::Counter& bad_requests;
    metrics::Gauge& open_connections;
    metrics::Histogram& request_seconds;
};

asio::awaitable<void> Server::Impl::accept_loop() {
    while (!stopping) {
        auto [error, socket] = co_await acceptor.async_accept(use_tuple);
        if (error) {
            if (stopping || error == asio::error::operation_aborted) break;
            spdlog::warn("accept failed: {}", error.message());
            continue;
        }
        if (connections.size() >= limits.connections_max) {
            rejected_connections.add();
            asio::co_spawn(io, reject(std::move(socket)), asio::detached);
            continue;
        }
        socket.set_option(tcp::no_delay(true), error);
        asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
}

asio::awaitable<void> Server::Impl::reject(tcp::socket socket) {
    Connection connection(std::move(socket));
    connection.stream.expires_after(std::chrono::seconds(5));
    co_await write_error(connection, 503, "service_unavailable", "too many open connections");
    error_code ignored;
    connection.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> Server::Impl::write_error(Connection& connection, unsigned status,
                                                std::string_view error, std::string_view detail) {
    auto message = to_message(error_response(status, error, detail), false, false);
    co_await bhttp::async_write(connection.stream, message, use_tuple);
}

asio::awaitable<void> Server::Impl::serve(tcp::socket socket) {
    error_code endpoint_error;
    const auto endpoint = socket.remote_endpoint(endpoint_error);
    const std::string remote = endpoint_error ? std::string() : endpoint.address().to_string();
    Connection connection(std::move(socket));
    connections.push_front(&connection);
    const auto self = connections.begin();
    open_connections.set(static_cast<double>(connections.size()));

    beast::flat_buffer buffer;
    while (!stopping && co_await serve_one(connection, buffer, remote)) {
    }

    error_code ignored;
    connection.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    connection.stream.close();
    connections.erase(self);
    open_connections.set(static_cast<double>(connections.size()));
    if (stopping && connections.empty()) drained.cancel();
}

// Returns whether the connection stays open for another request.
asio::awaitable<bool> Server::Impl::serve_one(Connection& connection, beast::flat_buffer& buffer,
                                              const std::string& remote) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes_max));
    parser.body_limit(limits.body_bytes_max);
    connection.stream.expires_after(limits.idle_timeout);
    auto [read_error, read_bytes] = co_await bhttp::async_read(connection.stream, buffer, parser,
                                                               use_tuple);
    if (read_error) {
        if (read_error == bhttp::error::body_limit || read_error == bhttp::error::header_limit) {
            bad_requests.add();
            co_await write_error(connection, 413, "payload_too_large",
                                 "the request's header or body exceeds the server's limit");
        } else if (is_malformed(read_error)) {
            bad_requests.add();
            co_await write_error(connection, 400, "bad_request", read_error.message());
        }
        co_return false;
    }

    const auto started = std::chrono::steady_clock::now();
    auto message = parser.release();
    const bool keep_alive = message.keep_alive();
    const bool head = message.method() == bhttp::verb::head;
    Request request = to_request(std::move(message), remote);
    connection.busy = true;
    Response response = co_await router.handle(request);
    const bool keep_open = keep_alive && !response.close && !stopping;
    auto reply = to_message(std::move(response), head, keep_open);
    connection.stream.expires_after(limits.request_timeout);
    auto [write_error_code, written] = co_await bhttp::async_write(connection.stream, reply,
                                                                   use_tuple);
    connection.busy = false;
    requests_total.add();
    request_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    co_return !write_error_code && keep_open;
}

Server::Server(asio::io_context& io, const Router& router, ServerLimits limits,
               metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(io, router, limits, registry)) {}

Server::~Server() = default;

std::uint16_t Server::listen(const std::string& host, std::uint16_t port) {
    const tcp::endpoint endpoint(asio::ip::make_address(host), port);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen(asio::socket_base::max_listen_connections);
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    return impl_->acceptor.local_endpoint().port();
}

asio::awaitable<void> Server::shutdown(std::chrono::milliseconds drain_timeout) {
    Impl& impl = *impl_;
    impl.stopping = true;
    error_code ignored;
    impl.acceptor.close(ignored);
    for (Connection* connection : impl.connections) {
        if (!connection->busy) connection->stream.socket().cancel(ignored);
    }
    if (!impl.connections.empty()) {
        impl.drained.expires_after(drain_timeout);
        co_await impl.drained.async_wait(use_tuple);
    }
    for (Connection* connection : impl.connections) connection->stream.socket().close(ignored);
}

std::size_t Server::connection_count() const { return impl_->connections.size(); }

}  // namespace tigerfans::http

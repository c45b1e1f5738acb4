// Boost.Beast HTTP client with a small keep-alive pool per origin.
#include "tigerfans/http/client.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <deque>
#include <vector>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/async.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct PooledConnection {
    explicit PooledConnection(const asio::any_io_executor& executor) : stream(executor) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::size_t exchanges = 0;  // Completed request/response pairs on this connection.
};

bhttp::verb to_verb(Method method) {
    switch (method) {
        case Method::get: return bhttp::verb::get;
        case Method::head: return bhttp::verb::head;
        case Method::post: return bhttp::verb::post;
        case Method::put: return bhttp::verb::put;
        case Method::patch: return bhttp::verb::patch;
        case Method::delete_: return bhttp::verb::delete_;
        case Method::options: return bhttp::verb::options;
        case Method::other: return bhttp::verb::unknown;
    }
    return bhttp::verb::unknown;
}

Fault fault_of(const error_code& error) {
    return error == beast::error::timeout ? Fault::timeout : Fault::unavailable;
}
}  // namespace

ClientOptions default_client_options() {
    return ClientOptions{limits::http_client_connections_max,
                         std::chrono::milliseconds(limits::http_client_timeout_ms)};
}

std::optional<HttpUrl> parse_http_url(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme)) return std::nullopt;
    url.remove_prefix(scheme.size());
    const std::size_t slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    HttpUrl parsed;
    parsed.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
        const std::string_view port_text = authority.substr(colon + 1);
        unsigned port = 0;
        auto [end, error] = std::from_chars(port_text.begin(), port_text.end(), port);
        if (error != std::errc() || end != port_text.end() || port == 0 || port > 65535) {
            return std::nullopt;
        }
        parsed.port = static_cast<std::uint16_t>(port);
        authority = authority.substr(0, colon);
    }
    if (authority.size() > 2 && authority.front() == '[' && authority.back() == ']') {
        authority = authority.substr(1, authority.size() - 2);
    }
    if (authority.empty()) return std::nullopt;
    parsed.host = std::string(authority);
    return parsed;
}

std::string host_field(std::string_view host, std::uint16_t port) {
    const bool bare_ipv6 = host.find(':') != std::string_view::npos && !host.starts_with('[');
    std::string field;
    field.reserve(host.size() + 8);
    if (bare_ipv6) field.push_back('[');
    field.append(host);
    if (bare_ipv6) field.push_back(']');
    field.push_back(':');
    field.append(std::to_string(port));
    return field;
}

struct Client::Impl {
    Impl(asio::any_io_executor executor_, std::string host_, std::uint16_t port_,
         ClientOptions options_)
        : executor(std::move(executor_)), host(std::move(host_)), port(port_), options(options_) {}

    asio::awaitable<Result<std::unique_ptr<PooledConnection>>> acquire(bool fresh);
    void release(std::unique_ptr<PooledConnection> connection, bool reusable);
    void free_slot();
    void wake_waiter();
    asio::awaitable<error_code> exchange(PooledConnection& connection,
                                         bhttp::request<bhttp::string_body>& message,
                                         ClientResponse& response);

    asio::any_io_executor executor;
    std::string host;
    std::uint16_t port;
    ClientOptions options;
    std::vector<tcp::endpoint> endpoints;
    std::vector<std::unique_ptr<PooledConnection>> idle;
    std::deque<Completion<bool>> waiters;
    std::size_t open = 0;
};

asio::awaitable<Result<std::unique_ptr<PooledConnection>>> Client::Impl::acquire(bool fresh) {
    while (idle.empty() && open >= options.connections_max) {
        co_await await_completion<bool>(
            [this](Completion<bool> done) { waiters.push_back(std::move(done)); });
    }
    if (!fresh && !idle.empty()) {
        auto connection = std::move(idle.back());
        idle.pop_back();
        co_return connection;
    }
    if (open >= options.connections_max) {
        // A fresh one asked for with every slot taken, some by idle connections. request()
        // never gets here (its fresh ask follows the closing of the connection that failed);
        // should another caller, the oldest idle connection gives its slot up.
        error_code ignored;
        idle.front()->stream.socket().close(ignored);
        idle.erase(idle.begin());
        open--;
    }
    // The slot is counted before anything suspends, so callers arriving while the name
    // resolves see it taken and wait, instead of each opening a connection past the limit.
    // It is given back on every way out but a connected one, a throw included.
    open++;
    struct SlotHeld {
        Impl& pool;
        bool connected = false;
        ~SlotHeld() {
            if (!connected) pool.free_slot();
        }
    } slot{*this};
    if (endpoints.empty()) {
        tcp::resolver resolver(executor);
        auto [error, results] =
            co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
        if (error) co_return Fault::unavailable;
        if (endpoints.empty()) {
            for (const auto& entry : results) endpoints.push_back(entry.endpoint());
        }
    }
    auto connection = std::make_unique<PooledConnection>(executor);
    connection->stream.expires_after(options.timeout);
    auto [error, endpoint] = co_await connection->stream.async_connect(endpoints, use_tuple);
    if (error) co_return fault_of(error);  // The stream closes its socket as it goes.
    connection->stream.socket().set_option(tcp::no_delay(true), error);
    slot.connected = true;
    co_return connection;
}

void Client::Impl::release(std::unique_ptr<PooledConnection> connection, bool reusable) {
    if (reusable) {
        idle.push_back(std::move(connection));
        wake_waiter();
    } else {
        error_code ignored;
        connection->stream.socket().close(ignored);
        free_slot();
    }
}

void Client::Impl::free_slot() {
    TF_ASSERT(open > 0);
    open--;
    wake_waiter();
}

void Client::Impl::wake_waiter() {
    if (!waiters.empty()) {
        auto waiter = std::move(waiters.front());
        waiters.pop_front();
        complete_later(executor, std::move(waiter), true);
    }
}

asio::awaitable<error_code> Client::Impl::exchange(PooledConnection& connection,
                                                   bhttp::request<bhttp::string_body>& message,
                                                   ClientResponse& response) {
    connection.stream.expires_after(options.timeout);
    auto [write_error, written] =
        co_await bhttp::async_write(connection.stream, message, use_tuple);
    if (write_error) co_return write_error;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(limits::http_client_response_bytes_max);
    if (message.method() == bhttp::verb::head) parser.skip(true);
    auto [read_error, read] =
        co_await bhttp::async_read(connection.stream, connection.buffer, parser, use_tuple);
    if (read_error) co_return read_error;
    auto reply = parser.release();
    // A status below 100 (the parser takes "000") is no answer, nor is an interim 1xx (this
    // client asks for none): the final answer would be left unread on the connection.
    if (reply.result_int() < 200) co_return error_code(beast::http::error::bad_status);
    response.status = reply.result_int();
    for (const auto& field : reply) {
        response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(reply.body());
    co_return reply.keep_alive() ? error_code{} : error_code(beast::http::error::end_of_stream);
}

Client::Client(asio::any_io_executor executor, std::string host, std::uint16_t port,
               ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(host), port, options)) {}

Client::~Client() { close_idle(); }

asio::awaitable<Result<ClientResponse>> Client::request(Method method, std::string target,
                                                        std::string body, Headers headers) {
    auto impl = impl_;  // Keeps the pool alive while this request runs.
    bhttp::request<bhttp::string_body> message{to_verb(method), target, 11};
    message.set(bhttp::field::host, host_field(impl->host, impl->port));
    message.set(bhttp::field::user_agent, "tigerfans-client");
    // A caller's field replaces the client's own (Host, User-Agent); a name the caller gives
    // twice is sent twice.
    for (auto field = headers.begin(); field != headers.end(); ++field) {
        const std::string& name = field->first;
        const bool repeated = std::any_of(headers.begin(), field, [&name](const auto& earlier) {
            return boost::beast::iequals(earlier.first, name);
        });
        if (repeated) {
            message.insert(name, field->second);
        } else {
            message.set(name, field->second);
        }
    }
    if (!body.empty() || method == Method::post || method == Method::put) {
        message.body() = std::move(body);
        message.prepare_payload();
    }
    message.keep_alive(true);

    for (int attempt = 0; attempt < 2; attempt++) {
        auto connection = co_await impl->acquire(attempt > 0);
        if (!connection) co_return connection.fault();
        const bool reused = (*connection)->exchanges > 0;
        ClientResponse response;
        const error_code error = co_await impl->exchange(**connection, message, response);
        const bool complete = response.status != 0;
        if (complete) (*connection)->exchanges++;
        impl->release(std::move(*connection), !error);
        if (complete) co_return response;
        if (!reused || error == beast::error::timeout) co_return fault_of(error);
    }
    co_return Fault::unavailable;
}

void Client::close_idle() {
    for (auto& connection : impl_->idle) {
        error_code ignored;
        connection->stream.socket().close(ignored);
        impl_->open--;
    }
    impl_->idle.clear();
}

std::size_t Client::open_connections() const { return impl_->open; }

}  // namespace tigerfans::http

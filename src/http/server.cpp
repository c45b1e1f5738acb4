// The HTTP/1.1 server. One coroutine per connection: read a request, let the router answer it,
// write, repeat while keep-alive. Beast parses requests (http/request_parser.hpp) into a
// Request the connection reuses; responses are written without Beast's serializer: the head
// is formatted into a reused string (http/response_head.hpp) and goes out with the body in one
// non-blocking gather write, which completes at once unless the socket buffer is full. No
// timer per operation: a sweep a few times per timeout closes connections whose read or
// write is past its deadline.
#include "tigerfans/http/server.hpp"

#include <sys/resource.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <list>
#include <string>
#include <unordered_map>

#include "http/request_parser.hpp"
#include "http/response_head.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/errors.hpp"
#include "tigerfans/http/rate_limit.hpp"

namespace tigerfans::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::uint64_t raise_open_files_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur;
}

ServerLimits default_server_limits() {
    rlimit files{};
    std::size_t connections_max = limits::http_connections_max;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
        const auto usable = static_cast<std::size_t>(files.rlim_cur);
        const std::size_t fitting = usable > limits::descriptors_reserved * 2
                                        ? usable - limits::descriptors_reserved
                                        : usable / 2;
        connections_max = std::min(connections_max, fitting);
    }
    return ServerLimits{
        limits::http_header_bytes_max,
        limits::http_body_bytes_max,
        connections_max,
        std::chrono::milliseconds(limits::http_idle_timeout_ms),
        std::chrono::milliseconds(limits::http_request_timeout_ms),
        limits::http_connections_per_address_max,
    };
}

namespace {

// Bytes asked of the kernel per read.
constexpr std::size_t read_chunk_bytes = 16 * 1024;
// After an error answer the connection closes; what the client still sends of its request is
// read and dropped first, up to these bounds: closing with unread bytes makes the kernel reset
// the connection, and a client still writing its body would lose the answer (RFC 9112 §9.6).
constexpr std::size_t linger_bytes_max = 1024 * 1024;
constexpr std::chrono::milliseconds linger_time_max{2'000};
constexpr std::string_view continue_answer = "HTTP/1.1 100 Continue\r\n\r\n";

// The timeout sweep looks this often per shortest timeout, within these bounds.
constexpr int sweeps_per_timeout = 10;
constexpr std::chrono::milliseconds sweep_interval_min{10};
constexpr std::chrono::milliseconds sweep_interval_max{1000};

enum class Phase {
    reading,   // Waiting for (the rest of) a request: the idle timeout runs.
    handling,  // The router has the request: no timeout (stores time out themselves).
    writing,   // The response did not fit the socket buffer at once: the request timeout runs.
};

struct Connection {
    explicit Connection(tcp::socket socket_) : socket(std::move(socket_)) {}
    tcp::socket socket;
    boost::beast::flat_buffer buffer;  // Received bytes not parsed yet; keeps its capacity.
    Request request;                   // Overwritten by each request.
    std::string head;                  // The response head, reused.
    Phase phase = Phase::reading;
    Clock::time_point deadline;
};

// A request the parser rejected (as opposed to a peer that went away or went quiet).
bool is_malformed(const error_code& error) {
    static const auto& http_category = bhttp::make_error_code(bhttp::error::bad_target).category();
    static const auto& own_category = make_error_code(RequestError::missing_host).category();
    if (error.category() == own_category) return true;
    return error.category() == http_category && error != bhttp::error::end_of_stream &&
           error != bhttp::error::partial_message;
}

// RFC 9110 §10.1.1: a client sending "Expect: 100-continue" waits (some for a while) for a
// 100 Continue before it sends its body.
bool expects_continue(const Request& request) {
    const auto expect = lookup_header(request.headers, "expect");
    return expect && boost::beast::iequals(*expect, "100-continue");
}

std::chrono::milliseconds sweep_interval(const ServerLimits& limits) {
    const auto shortest = std::min(limits.idle_timeout, limits.request_timeout);
    return std::clamp(shortest / sweeps_per_timeout, sweep_interval_min, sweep_interval_max);
}

Response misdirected_answer() {
    return error_response(421, "misdirected_request",
                          "this server answers only requests for localhost, 127.0.0.1 or [::1]");
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
          sweep_timer(io_context),
          requests_total(
              registry.counter("tigerfans_http_requests_total", "HTTP requests answered")),
          rejected_connections(registry.counter(
              "tigerfans_http_rejected_connections_total",
              "Connections refused with 503: over connections_max or the per-address cap")),
          accept_failures(registry.counter("tigerfans_http_accept_failures_total",
                                           "Accepts that failed (each pauses accepting)")),
          bad_requests(registry.counter("tigerfans_http_protocol_errors_total",
                                        "Requests that could not be parsed or were too large")),
          open_connections(
              registry.gauge("tigerfans_http_open_connections", "Connections currently open")),
          request_seconds(registry.histogram("tigerfans_http_request_seconds",
                                             "Time from a complete request to its response",
                                             metrics::latency_buckets_seconds())) {
        drained.expires_at(asio::steady_timer::time_point::max());
    }

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(tcp::socket socket, std::string address, std::string counted_as);
    void admit(tcp::socket socket);
    asio::awaitable<bool> serve_one(Connection& connection);
    bool misdirected(const Request& request) const;
    asio::awaitable<error_code> read_request(Connection& connection, RequestParser& parser);
    asio::awaitable<bool> write_response(Connection& connection, const Response& response,
                                         bool head_only, bool keep_alive);
    asio::awaitable<bool> answer_read_error(Connection& connection, const error_code& error);
    asio::awaitable<void> linger(Connection& connection);
    void reject(tcp::socket socket);
    asio::awaitable<void> write_error(Connection& connection, unsigned status,
                                      std::string_view error, std::string_view detail);
    void arm_sweep();
    void sweep();

    asio::io_context& io;
    const Router& router;
    ServerLimits limits;
    tcp::acceptor acceptor;
    asio::steady_timer drained;
    asio::steady_timer sweep_timer;
    std::list<Connection*> connections;
    std::unordered_map<std::string, std::size_t> connections_per_address;
    bool stopping = false;
    // Only requests naming a loopback host are answered (answer_only_loopback_hosts).
    bool loopback_only = false;
    // Set when shutdown cancels the sweep: a sweep whose expiry was already queued then runs
    // without an error, and must not arm itself again (the loop would never run out of work).
    bool sweep_stopped = false;

    metrics::Counter& requests_total;
    metrics::Counter& rejected_connections;
    metrics::Counter& accept_failures;
    metrics::Counter& bad_requests;
    metrics::Gauge& open_connections;
    metrics::Histogram& request_seconds;
};

// An accept that fails (out of descriptors, above all) would fail again at once: the loop
// pauses, doubling the pause while the failures last, and logs once per streak, instead of
// spinning and logging millions of lines. A connection closing frees a descriptor meanwhile.
asio::awaitable<void> Server::Impl::accept_loop() {
    constexpr std::chrono::milliseconds pause_first{10};
    const std::chrono::milliseconds pause_max{limits::accept_pause_max_ms};
    std::chrono::milliseconds pause{0};
    while (!stopping) {
        auto [error, socket] = co_await acceptor.async_accept(use_tuple);
        if (error) {
            if (stopping || error == asio::error::operation_aborted) break;
            if (pause.count() == 0) {
                spdlog::warn("accept failed: {}; pausing accepts while it lasts", error.message());
            }
            pause = std::clamp(pause * 2, pause_first, pause_max);
            accept_failures.add();
            asio::steady_timer wait(io, pause);
            co_await wait.async_wait(use_tuple);
            continue;
        }
        pause = std::chrono::milliseconds(0);
        admit(std::move(socket));
    }
}

// Over the connection cap, or over the cap of the peer's address, a connection gets a 503. An
// IPv6 peer counts by its /64 network, as the rate limits count it: one site holds a whole /64.
void Server::Impl::admit(tcp::socket socket) {
    error_code error;
    const auto endpoint = socket.remote_endpoint(error);
    std::string address = error ? std::string() : endpoint.address().to_string();
    std::string counted_as = RateLimiter::bucket_key(address);
    std::size_t& from_address = connections_per_address[counted_as];
    if (connections.size() >= limits.connections_max ||
        from_address >= limits.connections_per_address_max) {
        if (from_address == 0) connections_per_address.erase(counted_as);
        rejected_connections.add();
        reject(std::move(socket));
        return;
    }
    from_address++;
    socket.set_option(tcp::no_delay(true), error);
    socket.non_blocking(true, error);  // For the write that is tried at once.
    asio::co_spawn(io, serve(std::move(socket), std::move(address), std::move(counted_as)),
                   asio::detached);
}

// Closes connections whose read or write is late; the operation in progress then fails and
// the connection's coroutine ends as it would on any I/O error.
void Server::Impl::sweep() {
    const Clock::time_point now = Clock::now();
    for (Connection* connection : connections) {
        if (connection->phase == Phase::handling || now < connection->deadline) continue;
        error_code ignored;
        connection->socket.close(ignored);
    }
}

void Server::Impl::arm_sweep() {
    sweep_timer.expires_after(sweep_interval(limits));
    // On cancellation (shutdown, or the server being destroyed) `this` must not be touched.
    sweep_timer.async_wait([this](error_code error) {
        if (error || sweep_stopped) return;
        sweep();
        arm_sweep();
    });
}

// A fresh socket's buffer takes the small 503 at once; if it does not, the peer gets nothing.
void Server::Impl::reject(tcp::socket socket) {
    const Response response =
        error_response(503, "service_unavailable", "too many open connections");
    std::string head;
    format_response_head(head, response, false);
    const std::array<asio::const_buffer, 2> message{asio::buffer(head),
                                                    asio::buffer(response.body)};
    error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(message, ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> Server::Impl::write_error(Connection& connection, unsigned status,
                                                std::string_view error, std::string_view detail) {
    const Response response = error_response(status, error, detail);
    co_await write_response(connection, response, false, false);
}

// Keeps a connection counted against its address (counted by admit) for exactly as long as it
// lives, even when its coroutine ends by an exception.
class AddressCountEntry {
public:
    using Counts = std::unordered_map<std::string, std::size_t>;
    AddressCountEntry(Counts& counts, std::string address)
        : counts_(counts), address_(std::move(address)) {}
    ~AddressCountEntry() {
        const auto found = counts_.find(address_);
        TF_ASSERT(found != counts_.end() && found->second > 0);
        if (--found->second == 0) counts_.erase(found);
    }
    AddressCountEntry(const AddressCountEntry&) = delete;
    AddressCountEntry& operator=(const AddressCountEntry&) = delete;

private:
    Counts& counts_;
    std::string address_;
};

// Keeps a connection in the server's list for exactly as long as it lives, even when its
// coroutine ends by an exception: the sweep and shutdown must never see a dangling entry.
class ConnectionListEntry {
public:
    ConnectionListEntry(std::list<Connection*>& list, Connection& connection)
        : list_(list), self_(list.insert(list.begin(), &connection)) {}
    ~ConnectionListEntry() { list_.erase(self_); }
    ConnectionListEntry(const ConnectionListEntry&) = delete;
    ConnectionListEntry& operator=(const ConnectionListEntry&) = delete;

private:
    std::list<Connection*>& list_;
    std::list<Connection*>::iterator self_;
};

asio::awaitable<void> Server::Impl::serve(tcp::socket socket, std::string address,
                                          std::string counted_as) {
    Connection connection(std::move(socket));
    connection.request.remote_address = std::move(address);
    const AddressCountEntry counted(connections_per_address, std::move(counted_as));
    connection.deadline = Clock::now() + limits.idle_timeout;
    {
        const ConnectionListEntry entry(connections, connection);
        open_connections.set(static_cast<double>(connections.size()));
        while (!stopping && co_await serve_one(connection)) {
        }
        error_code ignored;
        connection.socket.shutdown(tcp::socket::shutdown_send, ignored);
        connection.socket.close(ignored);
    }
    open_connections.set(static_cast<double>(connections.size()));
    if (stopping && connections.empty()) drained.cancel();
}

bool Server::Impl::misdirected(const Request& request) const {
    return loopback_only && !names_loopback_host(request.header("Host"));
}

// Returns whether the connection stays open for another request.
asio::awaitable<bool> Server::Impl::serve_one(Connection& connection) {
    RequestParser parser(connection.request, limits.header_bytes_max, limits.body_bytes_max);
    connection.phase = Phase::reading;
    const error_code read_error = co_await read_request(connection, parser);
    if (read_error) {
        if (co_await answer_read_error(connection, read_error) && !stopping) {
            co_await linger(connection);
        }
        co_return false;
    }
    const Clock::time_point started = Clock::now();
    const bool keep_alive = parser.keep_alive();
    const bool head_only = connection.request.method == Method::head;
    connection.phase = Phase::handling;
    // Not a conditional expression: GCC 12 destroys a temporary beside a co_await twice.
    Response response;
    if (misdirected(connection.request)) {
        response = misdirected_answer();
    } else {
        response = co_await router.handle(connection.request);
    }
    const bool keep_open = keep_alive && !response.close && !stopping;
    const bool written = co_await write_response(connection, response, head_only, keep_open);
    const Clock::time_point finished = Clock::now();
    requests_total.add();
    request_seconds.observe(std::chrono::duration<double>(finished - started).count());
    connection.phase = Phase::reading;
    connection.deadline = finished + limits.idle_timeout;  // For the next request.
    const bool reuse = written && keep_open;
    co_return reuse;
}

// Parses what is buffered, reading more while the parser needs it (Beast's read loop, minus
// the timer: the sweep enforces the deadline set after the previous response).
asio::awaitable<error_code> Server::Impl::read_request(Connection& connection,
                                                       RequestParser& parser) {
    auto& buffer = connection.buffer;
    bool continued = false;
    while (true) {
        const error_code parsed = parse_buffered(parser, buffer);
        if (parsed != bhttp::error::need_more) co_return parsed;
        if (!continued && parser.is_header_done() && parser.is_http11() &&
            expects_continue(connection.request)) {
            continued = true;
            auto [error, written] = co_await asio::async_write(
                connection.socket, asio::buffer(continue_answer), use_tuple);
            if (error) co_return error;
        }
        auto [error, read] =
            co_await connection.socket.async_read_some(buffer.prepare(read_chunk_bytes), use_tuple);
        buffer.commit(read);
        if (error == asio::error::eof) co_return parse_end_of_stream(parser);
        if (error) co_return error;
    }
}

// Returns whether an answer was due (and tried): none for a peer that went away or went quiet.
asio::awaitable<bool> Server::Impl::answer_read_error(Connection& connection,
                                                      const error_code& error) {
    if (error == bhttp::error::body_limit || error == bhttp::error::header_limit) {
        bad_requests.add();
        co_await write_error(connection, 413, "payload_too_large",
                             "the request's header or body exceeds the server's limit");
        co_return true;
    }
    if (is_malformed(error)) {
        bad_requests.add();
        co_await write_error(connection, 400, "bad_request", error.message());
        co_return true;
    }
    co_return false;
}

// Our side is done (the client reads the answer, then an end of stream); the rest of the
// client's request is read and dropped until it closes its side, linger_bytes_max have come or
// linger_time_max has passed (the sweep then closes the socket, which ends the read).
asio::awaitable<void> Server::Impl::linger(Connection& connection) {
    error_code error;
    connection.socket.shutdown(tcp::socket::shutdown_send, error);
    if (error) co_return;
    connection.phase = Phase::reading;
    connection.deadline = Clock::now() + linger_time_max;
    std::array<char, 4096> dropped;
    std::size_t total = 0;
    while (!stopping && total < linger_bytes_max) {
        auto [read_error, read] =
            co_await connection.socket.async_read_some(asio::buffer(dropped), use_tuple);
        if (read_error) co_return;
        total += read;
    }
}

// Head and body in one gather write, tried at once on the non-blocking socket; only what
// does not fit the socket buffer is left to an asynchronous write under the request timeout.
asio::awaitable<bool> Server::Impl::write_response(Connection& connection, const Response& response,
                                                   bool head_only, bool keep_alive) {
    format_response_head(connection.head, response, keep_alive);
    const std::string_view head = connection.head;
    const bool no_body = head_only || is_bodiless(response.status);
    const std::string_view body = no_body ? std::string_view{} : response.body;
    const std::array<asio::const_buffer, 2> message{asio::buffer(head), asio::buffer(body)};
    error_code error;
    const std::size_t sent = connection.socket.write_some(message, error);
    if (error && error != asio::error::would_block) co_return false;
    if (sent == head.size() + body.size()) co_return true;
    const std::size_t head_sent = std::min(sent, head.size());
    const std::size_t body_sent = sent - head_sent;
    const std::array<asio::const_buffer, 2> rest{asio::buffer(head.substr(head_sent)),
                                                 asio::buffer(body.substr(body_sent))};
    connection.phase = Phase::writing;
    connection.deadline = Clock::now() + limits.request_timeout;
    auto [write_error, written] = co_await asio::async_write(connection.socket, rest, use_tuple);
    co_return !write_error;
}

Server::Server(asio::io_context& io, const Router& router, ServerLimits limits,
               metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(io, router, limits, registry)) {}

Server::~Server() = default;

std::uint16_t Server::listen(const std::string& host, std::uint16_t port, PortSharing sharing) {
    const tcp::endpoint endpoint(asio::ip::make_address(host), port);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    if (sharing == PortSharing::shared) {
        using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
        impl_->acceptor.set_option(reuse_port(true));
    }
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen(asio::socket_base::max_listen_connections);
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    impl_->arm_sweep();
    return impl_->acceptor.local_endpoint().port();
}

void Server::answer_only_loopback_hosts() { impl_->loopback_only = true; }

asio::awaitable<void> Server::shutdown(std::chrono::milliseconds drain_timeout) {
    Impl& impl = *impl_;
    impl.stopping = true;
    error_code ignored;
    impl.acceptor.close(ignored);
    for (Connection* connection : impl.connections) {
        if (connection->phase == Phase::reading) connection->socket.cancel(ignored);
    }
    if (!impl.connections.empty()) {
        impl.drained.expires_after(drain_timeout);
        co_await impl.drained.async_wait(use_tuple);
    }
    for (Connection* connection : impl.connections) connection->socket.close(ignored);
    impl.sweep_stopped = true;
    impl.sweep_timer.cancel();
}

std::size_t Server::connection_count() const { return impl_->connections.size(); }

}  // namespace tigerfans::http

// The load client's lean keep-alive HTTP/1.1 connection. It has to cost far less than the
// server it measures, since both share the machine's cores: a plain tcp::socket, the request
// formatted into a reused buffer and sent with one non-blocking write, the reply read only
// once the socket is readable (no read that is bound to fail right after the write), parsed
// by hand in a reused buffer, and no timer per request: a TimeoutSweep checks every
// connection's deadline a few times per timeout and closes the late ones. Errors keep their
// kind (HTTP status, refused, lost, timeout, bad response) for the report. Loop thread only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "load/response_parser.hpp"

namespace tigerfans::loadgen {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

enum class ExchangeError {
    none,
    connect_failed,   // The server refused or did not accept the connection.
    connection_lost,  // Closed or reset before the whole answer arrived.
    timeout,          // No whole answer within the request timeout.
    bad_response,     // An answer the parser cannot frame, or one over the size limits.
};
std::string_view exchange_error_name(ExchangeError error);

// One answer. `location` and `body` point into the connection's buffer until its next exchange.
struct Reply {
    ExchangeError error = ExchangeError::none;
    unsigned status = 0;
    std::string_view location;
    std::string_view body;

    bool ok() const { return error == ExchangeError::none; }
    // "HTTP 503", or the error's name.
    std::string describe() const;
};

struct Header {
    std::string_view name;
    std::string_view value;
};

// Appends a whole HTTP/1.1 request (Content-Length when a body or a POST) to `out`.
void format_request(std::string& out, std::string_view method, std::string_view target,
                    std::string_view host, std::initializer_list<Header> headers,
                    std::string_view body);

class Connection;

// Closes connections whose exchange is past its deadline, checked every `interval`.
class TimeoutSweep {
public:
    TimeoutSweep(asio::io_context& io, std::chrono::milliseconds timeout);
    ~TimeoutSweep();
    TimeoutSweep(const TimeoutSweep&) = delete;
    TimeoutSweep& operator=(const TimeoutSweep&) = delete;

    std::chrono::milliseconds timeout() const { return timeout_; }
    void add(Connection* connection);
    void remove(Connection* connection);

private:
    void arm();
    void sweep();

    asio::steady_timer timer_;
    std::chrono::milliseconds timeout_;
    std::chrono::milliseconds interval_;
    std::vector<Connection*> connections_;
};

class Connection {
public:
    using Clock = std::chrono::steady_clock;

    Connection(asio::io_context& io, tcp::endpoint server, TimeoutSweep& sweep);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Formats the next request into the connection's reused buffer. A separate plain call, so
    // that no temporary (string, header list) has to live across a co_await.
    void prepare(std::string_view method, std::string_view target,
                 std::initializer_list<Header> headers = {}, std::string_view body = {});

    // Sends the prepared request and reads its answer. A request that fails on a reused
    // connection before any answer byte (the server closed it while idle) is sent once more
    // on a new connection.
    asio::awaitable<Reply> exchange();

    // The sweep's check: closes the socket when the exchange in progress is late.
    void expire_if_late(Clock::time_point now);

private:
    asio::awaitable<ExchangeError> connect();
    asio::awaitable<ExchangeError> send();
    asio::awaitable<ExchangeError> receive(ResponseHead& head);
    asio::awaitable<ExchangeError> attempt(ResponseHead& head);
    enum class ReadStep { got_bytes, would_block, lost };
    ReadStep read_available(std::size_t message_bytes);
    ExchangeError failure(ExchangeError error) const;
    void discard_answered();
    void close();

    tcp::socket socket_;
    tcp::endpoint server_;
    TimeoutSweep& sweep_;
    std::string host_;          // The Host header: "address:port".
    std::string request_;       // Reused for every request.
    std::vector<char> buffer_;  // Reused for every answer; grows to the largest one.
    std::size_t buffered_bytes_ = 0;
    std::size_t answered_bytes_ = 0;  // The last answer's size, dropped at the next exchange.
    Clock::time_point deadline_;
    bool head_request_ = false;
    bool busy_ = false;
    bool timed_out_ = false;
};

}  // namespace tigerfans::loadgen

// The load client's lean connection and its timeout sweep (see connection.hpp).
#include "load/connection.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/decimal.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/client.hpp"

namespace tigerfans::loadgen {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Free space asked of the answer buffer before each read.
constexpr std::size_t read_chunk_bytes = 16 * 1024;

// The sweep looks this many times per request timeout, within these bounds.
constexpr int sweeps_per_timeout = 10;
constexpr std::chrono::milliseconds sweep_interval_min{10};
constexpr std::chrono::milliseconds sweep_interval_max{1000};

}  // namespace

std::string_view exchange_error_name(ExchangeError error) {
    switch (error) {
        case ExchangeError::none: return "none";
        case ExchangeError::connect_failed: return "connect failed";
        case ExchangeError::connection_lost: return "connection lost";
        case ExchangeError::timeout: return "timeout";
        case ExchangeError::bad_response: return "bad response";
    }
    return "unknown";
}

std::string Reply::describe() const {
    if (!ok()) return std::string(exchange_error_name(error));
    return "HTTP " + std::to_string(status);
}

void format_request(std::string& out, std::string_view method, std::string_view target,
                    std::string_view host, std::initializer_list<Header> headers,
                    std::string_view body) {
    out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
    out.append("\r\n");
    for (const Header& header : headers) {
        out.append(header.name).append(": ").append(header.value).append("\r\n");
    }
    if (!body.empty() || method == "POST" || method == "PUT") {
        out.append("Content-Length: ");
        append_decimal(out, body.size());
        out.append("\r\n");
    }
    out.append("\r\n").append(body);
}

TimeoutSweep::TimeoutSweep(asio::io_context& io, std::chrono::milliseconds timeout)
    : timer_(io),
      timeout_(timeout),
      interval_(std::clamp(timeout / sweeps_per_timeout, sweep_interval_min, sweep_interval_max)) {
    TF_ASSERT(timeout_.count() > 0);
    arm();
}

TimeoutSweep::~TimeoutSweep() {
    TF_ASSERT(connections_.empty());
    timer_.cancel();
}

void TimeoutSweep::add(Connection* connection) { connections_.push_back(connection); }

void TimeoutSweep::remove(Connection* connection) {
    const auto found = std::find(connections_.begin(), connections_.end(), connection);
    TF_ASSERT(found != connections_.end());
    *found = connections_.back();
    connections_.pop_back();
}

void TimeoutSweep::arm() {
    timer_.expires_after(interval_);
    // On cancellation (the sweep is being destroyed) the handler must not touch `this`.
    timer_.async_wait([this](boost::system::error_code error) {
        if (error) return;
        sweep();
        arm();
    });
}

void TimeoutSweep::sweep() {
    const Connection::Clock::time_point now = Connection::Clock::now();
    for (Connection* connection : connections_) connection->expire_if_late(now);
}

Connection::Connection(asio::io_context& io, tcp::endpoint server, TimeoutSweep& sweep)
    : socket_(io),
      server_(std::move(server)),
      sweep_(sweep),
      host_(http::host_field(server_.address().to_string(), server_.port())) {
    sweep_.add(this);
}

Connection::~Connection() {
    sweep_.remove(this);
    close();
}

void Connection::prepare(std::string_view method, std::string_view target,
                         std::initializer_list<Header> headers, std::string_view body) {
    TF_ASSERT(!busy_);
    request_.clear();
    format_request(request_, method, target, host_, headers, body);
    head_request_ = method == "HEAD";
}

asio::awaitable<Reply> Connection::exchange() {
    TF_ASSERT(!busy_ && !request_.empty());
    discard_answered();
    busy_ = true;
    timed_out_ = false;
    deadline_ = Clock::now() + sweep_.timeout();
    const bool reused = socket_.is_open();
    ResponseHead head;
    ExchangeError error = co_await attempt(head);
    if (error == ExchangeError::connection_lost && reused && buffered_bytes_ == 0 && !timed_out_) {
        close();
        error = co_await attempt(head);
    }
    busy_ = false;
    if (error != ExchangeError::none) {
        close();
        buffered_bytes_ = 0;
        co_return Reply{error};
    }
    answered_bytes_ = head.message_bytes();
    const std::string_view body(buffer_.data() + head.head_bytes, head.body_bytes);
    if (!head.keep_alive) close();
    co_return Reply{ExchangeError::none, head.status, head.location, body};
}

void Connection::expire_if_late(Clock::time_point now) {
    if (!busy_ || now < deadline_) return;
    timed_out_ = true;
    close();  // The pending wait, connect or read completes with an error.
}

ExchangeError Connection::failure(ExchangeError error) const {
    return timed_out_ ? ExchangeError::timeout : error;
}

asio::awaitable<ExchangeError> Connection::attempt(ResponseHead& head) {
    if (!socket_.is_open()) {
        const ExchangeError connected = co_await connect();
        if (connected != ExchangeError::none) co_return connected;
    }
    const ExchangeError sent = co_await send();
    if (sent != ExchangeError::none) co_return sent;
    co_return co_await receive(head);
}

asio::awaitable<ExchangeError> Connection::connect() {
    buffered_bytes_ = 0;
    answered_bytes_ = 0;
    auto [error] = co_await socket_.async_connect(server_, use_tuple);
    if (error) co_return failure(ExchangeError::connect_failed);
    socket_.set_option(tcp::no_delay(true), error);
    if (!error) socket_.non_blocking(true, error);
    if (error) co_return failure(ExchangeError::connect_failed);
    co_return ExchangeError::none;
}

// One non-blocking write normally takes the whole request; the socket is waited on only when
// the kernel's buffer is full.
asio::awaitable<ExchangeError> Connection::send() {
    std::size_t sent = 0;
    while (sent < request_.size()) {
        boost::system::error_code error;
        sent +=
            socket_.write_some(asio::buffer(request_.data() + sent, request_.size() - sent), error);
        if (error == asio::error::would_block) {
            auto [wait_error] = co_await socket_.async_wait(tcp::socket::wait_write, use_tuple);
            if (wait_error) co_return failure(ExchangeError::connection_lost);
        } else if (error) {
            co_return failure(ExchangeError::connection_lost);
        }
    }
    co_return ExchangeError::none;
}

// Right after the request nothing can have arrived yet, so it waits for readability first and
// then reads until the whole answer is buffered.
asio::awaitable<ExchangeError> Connection::receive(ResponseHead& head) {
    bool readable = false;
    while (true) {
        const std::string_view bytes(buffer_.data(), buffered_bytes_);
        const HeadParse parsed =
            parse_response_head(bytes, head_request_, limits::http_client_response_bytes_max, head);
        if (parsed == HeadParse::invalid || parsed == HeadParse::too_large) {
            co_return ExchangeError::bad_response;
        }
        const bool have_head = parsed == HeadParse::complete;
        if (have_head && bytes.size() >= head.message_bytes()) co_return ExchangeError::none;
        if (readable) {
            const ReadStep step = read_available(have_head ? head.message_bytes() : 0);
            if (step == ReadStep::lost) co_return failure(ExchangeError::connection_lost);
            readable = step == ReadStep::got_bytes;
            continue;
        }
        auto [error] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
        if (error) co_return failure(ExchangeError::connection_lost);
        readable = true;
    }
}

Connection::ReadStep Connection::read_available(std::size_t message_bytes) {
    const std::size_t wanted = std::max(buffered_bytes_ + read_chunk_bytes, message_bytes);
    if (buffer_.size() < wanted) buffer_.resize(wanted);
    boost::system::error_code error;
    const std::size_t read = socket_.read_some(
        asio::buffer(buffer_.data() + buffered_bytes_, buffer_.size() - buffered_bytes_), error);
    if (error == asio::error::would_block) return ReadStep::would_block;
    if (error) return ReadStep::lost;
    buffered_bytes_ += read;
    return ReadStep::got_bytes;
}

void Connection::discard_answered() {
    if (answered_bytes_ == 0) return;
    TF_ASSERT(answered_bytes_ <= buffered_bytes_);
    const std::size_t left = buffered_bytes_ - answered_bytes_;
    std::memmove(buffer_.data(), buffer_.data() + answered_bytes_, left);
    buffered_bytes_ = left;
    answered_bytes_ = 0;
}

void Connection::close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

}  // namespace tigerfans::loadgen

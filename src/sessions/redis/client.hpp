// One pipelined connection to Redis, driven by the loop. Callers co_await a command or a
// pipeline of commands; everything issued in one turn of the loop leaves in one write, and
// replies come back in order. hiredis 0.14 has no timeouts, so a watchdog timer watches the
// oldest unanswered command: past the timeout the connection is declared dead, every in-flight
// command fails with Fault::timeout and the client reconnects. The client reconnects by itself
// with exponential backoff after any loss; while it is not connected, commands fail at once
// with Fault::unavailable instead of queueing, so a Redis outage turns into prompt 503s upstream.
// Loop thread only. hiredis resolves a TCP host name with a blocking getaddrinfo at each connect:
// give REDIS_URL an IP address or a name the local resolver answers at once.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessions/redis/asio_adapter.hpp"
#include "sessions/redis/log_limiter.hpp"
#include "sessions/redis/reply.hpp"
#include "sessions/redis/url.hpp"
#include "tigerfans/core/async.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/core/result.hpp"
#include "tigerfans/metrics/metrics.hpp"

namespace tigerfans::sessions::redis {

inline constexpr std::chrono::milliseconds connection_error_log_interval_ms{10'000};

// The client's limits; the defaults are production values, tests shorten the timeouts.
struct ClientOptions {
    std::uint32_t command_timeout_ms = 2'000;      // Oldest unanswered command; then reconnect.
    std::uint32_t connect_timeout_ms = 2'000;      // Connect plus the SELECT/PING handshake.
    std::uint32_t reconnect_delay_min_ms = 50;     // Doubles after each failed attempt...
    std::uint32_t reconnect_delay_max_ms = 2'000;  // ...up to this.
    std::uint32_t stop_drain_timeout_ms = limits::shutdown_drain_timeout_ms;
    std::size_t in_flight_commands_max = 100'000;  // Beyond: Fault::overloaded.
    // Labels added to each of the client's metric series, e.g. `connection="queue"`, so that two
    // clients on one registry keep series of their own (empty for the session store's client).
    std::string metric_labels;
};

// A label set joined with more labels: with_labels("kind=\"timeout\"", "connection=\"queue\"").
std::string with_labels(std::string_view labels, std::string_view more);

// One command's arguments, e.g. {"HGETALL", "ps:42"}. Binary safe.
using Command = std::vector<std::string>;

class Client {
public:
    Client(asio::any_io_executor executor, Endpoint endpoint, ClientOptions options,
           metrics::Registry& registry);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Starts the first connection attempt; from then on the client reconnects by itself.
    void start();
    // Completes when the current connection attempt ends: true when connected.
    asio::awaitable<bool> wait_for_attempt();

    // Sends the commands back to back and completes with one reply per command (error replies
    // included) once the last one arrived, or with one fault for the whole pipeline.
    asio::awaitable<Result<std::vector<Reply>>> pipeline(std::vector<Command> commands);
    asio::awaitable<Result<Reply>> command(Command command);

    bool connected() const { return state_ == State::ready; }

    // Refuses new commands (shutting_down), waits for in-flight replies up to the drain timeout,
    // then disconnects. Idempotent.
    asio::awaitable<void> stop();

private:
    using Clock = std::chrono::steady_clock;
    using Replies = Result<std::vector<Reply>>;

    enum class State : std::uint8_t { idle, connecting, ready, backing_off, stopping, stopped };

    struct Request {
        Completion<Replies> done;
        std::vector<Reply> replies;
        std::size_t replies_expected = 0;
        std::size_t replies_received = 0;
        std::optional<Fault> fault;  // Set on the first missing reply; later ones are ignored.
        Clock::time_point issued;
    };

    struct Metrics {
        Metrics(metrics::Registry& registry, std::string_view labels);
        metrics::Histogram& pipeline_commands;
        metrics::Histogram& command_seconds;
        metrics::Counter& unavailable;
        metrics::Counter& timeouts;
        metrics::Counter& overloaded;
        metrics::Counter& reconnects;
        metrics::Gauge& connected;
    };

    // hiredis' C callbacks; `self` is the client, `reply` a root built by reply_functions()
    // (reply.hpp), or nullptr while hiredis frees the context.
    static void on_reply(redisAsyncContext* context, void* reply, void* self) noexcept;
    static void on_handshake_reply(redisAsyncContext* context, void* reply, void* self) noexcept;

    void connect();
    bool open_connection();
    AdapterHooks adapter_hooks();
    void send_handshake();
    void handshake_replied(void* reply);
    void became_ready();
    void connection_gone(std::string_view reason);
    void schedule_reconnect();
    void log_connection_error(bool was_ready, std::string_view reason);

    void issue(const std::vector<Command>& commands, Completion<Replies> done);
    std::optional<Fault> refusal(std::size_t command_count) const;
    bool append(const Command& command);
    void replied(void* reply);
    void finish(Request request);
    void count_fault(Fault fault);
    void flushing();

    std::optional<Clock::time_point> next_deadline() const;
    void arm_watchdog();
    void on_watchdog();
    void teardown(Fault fault);
    void close();

    template <typename Action>
    auto guarded(Action action);

    asio::any_io_executor executor_;
    Endpoint endpoint_;
    std::string endpoint_text_;
    ClientOptions options_;
    Metrics metrics_;

    redisAsyncContext* context_ = nullptr;
    std::shared_ptr<AsioAdapter> adapter_;  // Replaced per connection, never inside cleanup.
    State state_ = State::idle;
    bool was_connected_ = false;
    std::uint32_t reconnect_delay_ms_;
    Fault teardown_fault_ = Fault::unavailable;  // What in-flight commands fail with.
    std::string handshake_error_;

    std::deque<Request> in_flight_;  // In issue order, which is reply order.
    std::size_t in_flight_commands_ = 0;
    std::size_t unflushed_commands_ = 0;  // Appended since the last write.
    std::string wire_;                    // One command in RESP; reused, so its capacity stays.

    Clock::time_point connect_started_;
    asio::steady_timer watchdog_;
    bool watchdog_armed_ = false;
    asio::steady_timer reconnect_timer_;
    asio::steady_timer attempt_signal_;  // Cancelled when a connection attempt ends.
    asio::steady_timer idle_signal_;     // Cancelled when the last in-flight request finishes.
    LogLimiter connection_errors_log_{connection_error_log_interval_ms};
    std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);  // Expires with the client.
};

}  // namespace tigerfans::sessions::redis

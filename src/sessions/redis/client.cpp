// The pipelined Redis connection: connect and handshake, issue and match replies, watchdog,
// reconnect with backoff, orderly stop. hiredis runs every reply callback inside
// redisAsyncHandleRead; callers are resumed later through complete_later, never on hiredis'
// stack, and the client never frees a context from inside a callback.
#include "sessions/redis/client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <new>
#include <utility>

#include "sessions/redis/wire.hpp"
#include "tigerfans/core/assert.hpp"

namespace tigerfans::sessions::redis {

namespace {

std::chrono::milliseconds milliseconds(std::uint32_t value) {
    return std::chrono::milliseconds(value);
}

// hiredis writes with write(2), not send(MSG_NOSIGNAL): writing to a Redis that just died
// would raise SIGPIPE and kill the server. Ignore it unless someone installed a handler.
void ignore_broken_pipes() {
    struct sigaction current {};
    sigaction(SIGPIPE, nullptr, &current);
    if (current.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
}

redisAsyncContext* open_context(const Endpoint& endpoint) {
    if (endpoint.transport == Endpoint::Transport::unix_socket) {
        return redisAsyncConnectUnix(endpoint.socket_path.c_str());
    }
    return redisAsyncConnect(endpoint.host.c_str(), endpoint.port);
}

Client& client_of(void* self) {
    TF_ASSERT(self != nullptr);
    return *static_cast<Client*>(self);
}

}  // namespace

std::string with_labels(std::string_view labels, std::string_view more) {
    if (labels.empty()) return std::string(more);
    if (more.empty()) return std::string(labels);
    return std::string(labels) + "," + std::string(more);
}

Client::Metrics::Metrics(metrics::Registry& registry, std::string_view labels)
    : pipeline_commands(registry.histogram("tigerfans_redis_pipeline_commands",
                                           "Commands sent to Redis per socket write",
                                           metrics::batch_size_buckets(), labels)),
      command_seconds(registry.histogram("tigerfans_redis_command_seconds",
                                         "Round trip of a Redis command or pipeline",
                                         metrics::latency_buckets_seconds(), labels)),
      unavailable(registry.counter("tigerfans_redis_errors_total", "Redis calls that failed",
                                   with_labels("kind=\"unavailable\"", labels))),
      timeouts(registry.counter("tigerfans_redis_errors_total", "Redis calls that failed",
                                with_labels("kind=\"timeout\"", labels))),
      overloaded(registry.counter("tigerfans_redis_errors_total", "Redis calls that failed",
                                  with_labels("kind=\"overloaded\"", labels))),
      reconnects(registry.counter("tigerfans_redis_reconnects_total",
                                  "Connections to Redis established again after a loss", labels)),
      connected(registry.gauge("tigerfans_redis_connected", "1 while Redis is connected", labels)) {
}

Client::Client(asio::any_io_executor executor, Endpoint endpoint, ClientOptions options,
               metrics::Registry& registry)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      endpoint_text_(describe(endpoint_)),
      options_(options),
      metrics_(registry, options_.metric_labels),
      reconnect_delay_ms_(options.reconnect_delay_min_ms),
      watchdog_(executor_),
      reconnect_timer_(executor_),
      attempt_signal_(executor_),
      idle_signal_(executor_) {
    TF_ASSERT(options_.command_timeout_ms > 0 && options_.connect_timeout_ms > 0);
    TF_ASSERT(options_.reconnect_delay_min_ms > 0);
    TF_ASSERT(options_.reconnect_delay_min_ms <= options_.reconnect_delay_max_ms);
    TF_ASSERT(options_.in_flight_commands_max > 0);
    attempt_signal_.expires_at(Clock::time_point::max());
    ignore_broken_pipes();
}

Client::~Client() {
    state_ = State::stopping;
    if (context_ != nullptr) teardown(Fault::shutting_down);
}

// Timer handlers run only if the wait succeeded and the client still exists: a wait that
// completed just before the client was destroyed must not touch it.
template <typename Action>
auto Client::guarded(Action action) {
    return [alive = std::weak_ptr<int>(lifetime_),
            action = std::move(action)](const boost::system::error_code& error) {
        if (error || alive.expired()) return;
        action();
    };
}

void Client::start() {
    TF_ASSERT(state_ == State::idle);
    connect();
}

asio::awaitable<bool> Client::wait_for_attempt() {
    while (state_ == State::connecting) {
        boost::system::error_code ignored;
        co_await attempt_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    co_return state_ == State::ready;
}

// ---- Connection life cycle ------------------------------------------------------------------

void Client::connect() {
    TF_ASSERT(context_ == nullptr);
    TF_ASSERT(state_ == State::idle || state_ == State::backing_off);
    state_ = State::connecting;
    connect_started_ = Clock::now();
    handshake_error_.clear();
    unflushed_commands_ = 0;
    if (!open_connection()) return;
    send_handshake();
    arm_watchdog();
}

bool Client::open_connection() {
    redisAsyncContext* context = open_context(endpoint_);
    if (context == nullptr) {
        connection_gone("cannot allocate a hiredis context");
        return false;
    }
    if (context->err != 0) {
        const std::string reason = context->errstr;
        redisAsyncFree(context);
        connection_gone(reason);
        return false;
    }
    boost::system::error_code error;
    adapter_ = AsioAdapter::attach(executor_, context, adapter_hooks(), error);
    if (adapter_ == nullptr) {
        redisAsyncFree(context);
        connection_gone("cannot watch the socket: " + error.message());
        return false;
    }
    context->c.reader->fn = reply_functions();  // Replies come built as Reply trees.
    context->data = this;
    context_ = context;
    return true;
}

AdapterHooks Client::adapter_hooks() {
    AdapterHooks hooks;
    hooks.before_write = [this] { flushing(); };
    hooks.on_cleanup = [this](const redisAsyncContext& gone) {
        if (teardown_fault_ == Fault::timeout) return connection_gone("no answer in time");
        if (!handshake_error_.empty()) return connection_gone(handshake_error_);
        connection_gone(gone.c.err != 0 ? gone.c.errstr : "connection closed");
    };
    return hooks;
}

// The handshake (SELECT, or PING for db 0) is queued before anything else, so no command can
// reach the wrong database; user commands are accepted only once it answered. Its write also
// makes hiredis notice the end of the non-blocking connect.
void Client::send_handshake() {
    [[maybe_unused]] const int queued =
        endpoint_.database == 0
            ? redisAsyncCommand(context_, &Client::on_handshake_reply, this, "PING")
            : redisAsyncCommand(context_, &Client::on_handshake_reply, this, "SELECT %d",
                                endpoint_.database);
    TF_ASSERT(queued == REDIS_OK);
}

void Client::on_handshake_reply(redisAsyncContext*, void* reply, void* self) noexcept {
    client_of(self).handshake_replied(reply);
}

void Client::handshake_replied(void* reply) {
    if (reply == nullptr || state_ != State::connecting) return;  // Going away, or stopping.
    const Reply answer = take_reply(reply);
    if (!answer.is_error()) {
        became_ready();
        return;
    }
    handshake_error_ = "handshake failed: " + answer.text;
    redisAsyncDisconnect(context_);  // Inside a callback: hiredis closes once it returns.
}

void Client::became_ready() {
    state_ = State::ready;
    reconnect_delay_ms_ = options_.reconnect_delay_min_ms;
    if (was_connected_) metrics_.reconnects.add();
    spdlog::info("redis: {} {}", was_connected_ ? "reconnected to" : "connected to",
                 endpoint_text_);
    was_connected_ = true;
    metrics_.connected.set(1);
    attempt_signal_.cancel();
}

// The context is gone (hiredis' cleanup hook, or it never got going). hiredis runs the pending
// reply callbacks before cleanup, so in-flight requests have already failed.
void Client::connection_gone(std::string_view reason) {
    const bool was_ready = state_ == State::ready;
    context_ = nullptr;
    metrics_.connected.set(0);
    attempt_signal_.cancel();
    if (state_ == State::stopping || state_ == State::stopped) return;
    log_connection_error(was_ready, reason);
    state_ = State::backing_off;
    schedule_reconnect();
}

void Client::schedule_reconnect() {
    reconnect_timer_.expires_after(milliseconds(reconnect_delay_ms_));
    reconnect_delay_ms_ = std::min(reconnect_delay_ms_ * 2, options_.reconnect_delay_max_ms);
    reconnect_timer_.async_wait(guarded([this] {
        if (state_ == State::backing_off) connect();
    }));
}

void Client::log_connection_error(bool was_ready, std::string_view reason) {
    const std::optional<std::uint64_t> suppressed = connection_errors_log_.admit();
    if (!suppressed) return;
    spdlog::warn("redis: {} {}: {} ({} similar messages suppressed)",
                 was_ready ? "lost connection to" : "cannot connect to", endpoint_text_, reason,
                 *suppressed);
}

// ---- Commands ---------------------------------------------------------------------------------

asio::awaitable<Client::Replies> Client::pipeline(std::vector<Command> commands) {
    TF_ASSERT(!commands.empty());
    co_return co_await await_completion<Replies>(
        [&](Completion<Replies> done) { issue(commands, std::move(done)); });
}

asio::awaitable<Result<Reply>> Client::command(Command command) {
    std::vector<Command> commands;
    commands.push_back(std::move(command));
    Replies replies = co_await pipeline(std::move(commands));
    if (!replies) co_return replies.fault();
    TF_ASSERT(replies->size() == 1);
    co_return std::move(replies->front());
}

void Client::issue(const std::vector<Command>& commands, Completion<Replies> done) {
    Request request{std::move(done),          {},          commands.size(), 0,
                    refusal(commands.size()), Clock::now()};
    if (request.fault) return finish(std::move(request));
    request.replies.reserve(commands.size());
    in_flight_.push_back(std::move(request));
    std::size_t appended = 0;
    while (appended < commands.size() && append(commands[appended])) appended++;
    in_flight_commands_ += appended;
    unflushed_commands_ += appended;
    if (appended < commands.size()) {
        // Out of memory (ours or hiredis'): the pipeline fails once the appended ones answer.
        in_flight_.back().replies_expected = appended;
        in_flight_.back().fault = Fault::unavailable;
        if (appended == 0) {
            finish(std::move(in_flight_.back()));
            in_flight_.pop_back();
        }
    }
    arm_watchdog();
}

std::optional<Fault> Client::refusal(std::size_t command_count) const {
    if (state_ == State::stopping || state_ == State::stopped) return Fault::shutting_down;
    if (state_ != State::ready) return Fault::unavailable;
    if (in_flight_commands_ + command_count > options_.in_flight_commands_max) {
        return Fault::overloaded;
    }
    return std::nullopt;
}

bool Client::append(const Command& command) {
    TF_ASSERT(!command.empty());
    wire_.clear();
    try {
        append_command(command, wire_);
    } catch (const std::bad_alloc&) {
        return false;  // Refused like hiredis' own out-of-memory: issue() fails the rest.
    }
    return redisAsyncFormattedCommand(context_, &Client::on_reply, this, wire_.data(),
                                      wire_.size()) == REDIS_OK;
}

void Client::on_reply(redisAsyncContext*, void* reply, void* self) noexcept {
    client_of(self).replied(reply);
}

// Replies arrive in issue order, so each belongs to the oldest request. No reply at all means
// hiredis is freeing the context: the request fails with the teardown's fault.
void Client::replied(void* reply) {
    TF_ASSERT(!in_flight_.empty());
    TF_ASSERT(in_flight_commands_ > 0);
    in_flight_commands_--;
    Request& request = in_flight_.front();
    request.replies_received++;
    if (reply == nullptr && !request.fault) request.fault = teardown_fault_;
    if (reply != nullptr && !request.fault) request.replies.push_back(take_reply(reply));
    if (request.replies_received < request.replies_expected) return;
    Request finished = std::move(request);
    in_flight_.pop_front();
    finish(std::move(finished));
    if (in_flight_.empty()) idle_signal_.cancel();
}

void Client::finish(Request request) {
    if (request.fault) {
        count_fault(*request.fault);
        complete_later<Replies>(executor_, std::move(request.done), *request.fault);
        return;
    }
    TF_ASSERT(request.replies.size() == request.replies_expected);
    const std::chrono::duration<double> elapsed = Clock::now() - request.issued;
    metrics_.command_seconds.observe(elapsed.count());
    complete_later<Replies>(executor_, std::move(request.done), std::move(request.replies));
}

void Client::count_fault(Fault fault) {
    switch (fault) {
        case Fault::unavailable: metrics_.unavailable.add(); break;
        case Fault::timeout: metrics_.timeouts.add(); break;
        case Fault::overloaded: metrics_.overloaded.add(); break;
        case Fault::shutting_down:
        case Fault::internal: break;
    }
}

// hiredis is about to write its output buffer: everything appended since the last write.
void Client::flushing() {
    if (unflushed_commands_ == 0) return;
    metrics_.pipeline_commands.observe(static_cast<double>(unflushed_commands_));
    unflushed_commands_ = 0;
}

// ---- Timeouts and shutdown ------------------------------------------------------------------

std::optional<Client::Clock::time_point> Client::next_deadline() const {
    if (context_ == nullptr) return std::nullopt;
    if (state_ == State::connecting) {
        return connect_started_ + milliseconds(options_.connect_timeout_ms);
    }
    if (in_flight_.empty()) return std::nullopt;
    return in_flight_.front().issued + milliseconds(options_.command_timeout_ms);
}

// One timer watches only the oldest request: replies come in order, so when it is on time
// every younger one is too. When it fires early (the oldest was answered) it re-arms.
void Client::arm_watchdog() {
    if (watchdog_armed_) return;
    const std::optional<Clock::time_point> deadline = next_deadline();
    if (!deadline) return;
    watchdog_armed_ = true;
    watchdog_.expires_at(*deadline);
    watchdog_.async_wait(guarded([this] { on_watchdog(); }));
}

void Client::on_watchdog() {
    watchdog_armed_ = false;
    const std::optional<Clock::time_point> deadline = next_deadline();
    if (!deadline) return;
    if (Clock::now() < *deadline) return arm_watchdog();
    teardown(Fault::timeout);
}

// Frees the context now: every in-flight request fails with `fault`, and the cleanup hook
// schedules a reconnect unless the client is stopping. Never called from a hiredis callback.
void Client::teardown(Fault fault) {
    TF_ASSERT(context_ != nullptr);
    TF_ASSERT((context_->c.flags & REDIS_IN_CALLBACK) == 0);
    teardown_fault_ = fault;
    redisAsyncFree(context_);
    teardown_fault_ = Fault::unavailable;
    TF_ASSERT(context_ == nullptr);
}

asio::awaitable<void> Client::stop() {
    if (state_ == State::stopping || state_ == State::stopped) co_return;
    state_ = State::stopping;
    reconnect_timer_.cancel();
    attempt_signal_.cancel();
    const Clock::time_point deadline = Clock::now() + milliseconds(options_.stop_drain_timeout_ms);
    while (!in_flight_.empty() && Clock::now() < deadline) {
        idle_signal_.expires_at(deadline);
        boost::system::error_code ignored;
        co_await idle_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    close();
    watchdog_.cancel();  // An armed watchdog would keep the loop alive until its deadline.
    state_ = State::stopped;
    metrics_.connected.set(0);
}

void Client::close() {
    if (context_ == nullptr) return;
    if (context_->replies.head == nullptr) {
        redisAsyncDisconnect(context_);  // Nothing pending: hiredis closes at once.
    } else {
        teardown(Fault::shutting_down);  // The drain deadline passed.
    }
    TF_ASSERT(context_ == nullptr);
}

}  // namespace tigerfans::sessions::redis

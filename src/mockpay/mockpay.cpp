// MockPay: page, a payment's event and its webhook delivery with retries.
#include "tigerfans/mockpay/mockpay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <vector>

#include "mockpay/outbox.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/async.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/errors.hpp"
#include "tigerfans/http/message.hpp"

namespace tigerfans::mockpay {

namespace asio = boost::asio;

namespace {
// A webhook that answers 5xx, 409 or 3xx or cannot be reached is tried again, as providers do:
// 100, 300, 900 ms and then 2.7 s apart, so the last attempt comes after a lease left by a
// crashed delivery (webhook_lease_ms) has expired. After that the outbox takes over.
constexpr int delivery_attempts_max = 5;
constexpr std::chrono::milliseconds delivery_backoff_first{100};

constexpr std::chrono::milliseconds delivery_waits_total() {
    std::chrono::milliseconds total{0};
    std::chrono::milliseconds backoff = delivery_backoff_first;
    for (int attempt = 1; attempt < delivery_attempts_max; attempt++, backoff *= 3) {
        total += backoff;
    }
    return total;
}
static_assert(delivery_waits_total() > std::chrono::milliseconds(limits::webhook_lease_ms),
              "MockPay must keep trying until a dead delivery's lease has expired");

// The outbox's first background attempt waits out the emit path's pauses. Attempts that each
// run into the client's timeout can make the emit path last longer; the event then arrives
// twice, and the second delivery is answered as a replay.
constexpr std::chrono::seconds outbox_first_retry{10};
static_assert(outbox_first_retry > delivery_waits_total() + std::chrono::seconds(2),
              "the background must not race the emit path's pauses");
constexpr std::chrono::seconds redelivery_interval{1};
constexpr std::int64_t exhausted_batch_max = 100;
// Due events are claimed and delivered this many at a time, one wave after another with no
// pause while the claims come back full and the shop takes some of each wave: a backlog left
// by an outage drains at the pace the shop answers, not a wave a second. A claimed event is
// delivered within its wave (at most the client's timeout after the claim), so another process's
// claim seldom meets it.
constexpr std::size_t redelivery_parallel = 16;
constexpr std::chrono::seconds outbox_start_pause_max{60};
// 2^n seconds apart, at most 5 minutes: 30 attempts span about two hours.
constexpr std::int32_t redelivery_attempts_max = 30;
// Every redelivery of a settled event meets the gate's done mark and is answered as a replay,
// never as an unknown session (a paid session is removed once its order committed).
static_assert(outbox_schedule_span(outbox_first_retry, redelivery_attempts_max) <
                  std::chrono::seconds(limits::webhook_done_ttl_s),
              "the done mark must outlive the outbox's redelivery schedule");
// A payment sent just before its holds expired is retried against a session that still
// exists: the emit path's attempts fit in the session's margin over the reservation.
static_assert(delivery_waits_total() < std::chrono::seconds(limits::session_ttl_margin_s),
              "the session must outlive the emit path's retries of a payment at its expiry");

// Built outside the coroutines: GCC 12 destroys temporaries inside braced lists in a coroutine
// twice.
http::Headers delivery_headers(std::string signed_with) {
    return {{"Content-Type", "application/json"}, {signature_header, std::move(signed_with)}};
}

PaymentEvent payment_event(const sessions::PaymentSession& session, PaymentOutcome outcome,
                           std::string event_key, std::int64_t created_at_s) {
    PaymentEvent event;
    event.outcome = outcome;
    event.payment_session_id = session.psid;
    event.order_id = session.order_id;
    event.amount_cents = session.amount_cents;
    event.currency = session.currency;
    event.created_at_s = created_at_s;
    event.idempotency_key = std::move(event_key);
    event.cls = class_name(session.cls);
    event.customer_email = session.customer_email;
    return event;
}

// Keyed on its session and outcome: the same emit sent again is the same event.
OutboxEvent new_event(std::string_view secret, const sessions::PaymentSession& session,
                      PaymentOutcome outcome) {
    OutboxEvent event;
    event.event_key = session_event_key(secret, session.psid, outcome);
    event.psid = session.psid;
    event.body =
        event_json(payment_event(session, outcome, event.event_key, unix_now_us() / 1'000'000));
    return event;
}

// Nothing more to deliver; no answer means "later".
bool delivery_settled(const Result<http::ClientResponse>& reply) {
    return reply && settles_delivery(reply->status);
}

// An emit whose event the same emit, sent before, left waiting in the outbox: the same 303,
// marked. Built outside the coroutine: inlined into it, GCC 12 warns of a mismatched delete of
// the coroutine's frame.
http::Response resent_form_answer(PaymentOutcome outcome, std::string_view order_id) {
    http::Response answer = http::Response::redirect(redirect_after(outcome, order_id));
    answer.headers.emplace_back(std::string(http::idempotent_replay_header), "true");
    return answer;
}

std::string euros(std::int64_t cents) {
    char text[32];
    std::snprintf(text, sizeof(text), "%lld.%02lld", static_cast<long long>(cents / 100),
                  static_cast<long long>(cents % 100));
    return text;
}
}  // namespace

bool settles_delivery(unsigned status) {
    const bool taken = status >= 200 && status < 300;
    const bool refused = status >= 400 && status < 500 && status != 409;
    return taken || refused;
}

std::string redirect_after(PaymentOutcome outcome, std::string_view order_id) {
    const std::string id = http::percent_encode(order_id);
    if (outcome == PaymentOutcome::succeeded) return "/demo/success?order_id=" + id;
    return "/demo/checkout?status=" + std::string(outcome_name(outcome)) + "&order_id=" + id;
}

MockPay::MockPay(asio::any_io_executor executor, const config::Config& config,
                 sessions::SessionStore& sessions, const http::Templates& templates,
                 metrics::Registry& registry, BackgroundTasks& background)
    : config_(config),
      sessions_(sessions),
      templates_(templates),
      background_(background),
      webhook_url_(http::parse_http_url(config.mock_webhook_url).value_or(http::HttpUrl{})),
      webhook_client_(std::make_unique<http::Client>(executor, webhook_url_.host, webhook_url_.port,
                                                     http::default_client_options())),
      outbox_(std::make_unique<Outbox>(executor, config.database_url, registry)),
      redelivery_timer_(executor),
      deliveries_failed_(registry.counter("tigerfans_mockpay_deliveries_failed_total",
                                          "Webhook events given up on after every redelivery")),
      deliveries_deferred_(registry.counter(
          "tigerfans_mockpay_deliveries_deferred_total",
          "Webhook events left to the outbox after the emit path's attempts failed")),
      redeliveries_(registry.counter("tigerfans_mockpay_redeliveries_total",
                                     "Webhook deliveries attempted from the outbox")) {}

MockPay::~MockPay() = default;

asio::awaitable<Status> MockPay::start() {
    Status started = co_await outbox_->start();
    outbox_started_ = started.ok();
    loop_running_ = true;
    asio::co_spawn(redelivery_timer_.get_executor(), redelivery_loop(), asio::detached);
    co_return started;
}

asio::awaitable<void> MockPay::stop() {
    stopping_ = true;
    boost::system::error_code ignored;
    while (loop_running_) {
        redelivery_timer_.cancel();
        asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    co_await outbox_->stop();
}

asio::awaitable<void> MockPay::redelivery_loop() {
    boost::system::error_code ignored;
    bool more_due = false;
    // An outbox that could not start is tried again after 1 s, then at pauses doubling up to a
    // minute: a table in the way or a missing right does not fill the log every second.
    std::chrono::seconds start_pause = redelivery_interval;
    auto next_start = std::chrono::steady_clock::now();
    while (!stopping_) {
        if (!more_due) {
            redelivery_timer_.expires_after(redelivery_interval);
            co_await redelivery_timer_.async_wait(
                asio::redirect_error(asio::use_awaitable, ignored));
            if (stopping_) break;
        }
        if (!outbox_started_ && std::chrono::steady_clock::now() >= next_start) {
            outbox_started_ = (co_await outbox_->start()).ok();
            if (outbox_started_) spdlog::info("mockpay: outbox started; redelivering");
            next_start = std::chrono::steady_clock::now() + start_pause;
            start_pause = std::min(start_pause * 2, outbox_start_pause_max);
            if (stopping_) break;
        }
        more_due = outbox_started_ && co_await redeliver_due();
    }
    loop_running_ = false;
}

// One wave: events that used up their attempts are dropped (all that are due, a batch at a
// time), then up to a wave of due events get one attempt each (already rescheduled by the
// claim). The next wave follows at once only when this one's claim was full and some
// delivery settled: a shop that refuses every delivery (down, or this server draining) would
// otherwise spend an attempt of each event due as fast as the refusals came.
asio::awaitable<bool> MockPay::redeliver_due() {
    for (bool more_exhausted = true; more_exhausted && !stopping_;) {
        auto exhausted =
            co_await outbox_->drop_exhausted(redelivery_attempts_max, exhausted_batch_max);
        if (!exhausted) break;
        for (const OutboxEvent& event : *exhausted) {
            deliveries_failed_.add();
            spdlog::error(
                "mockpay: gave up delivering event {} of session {}; kept in "
                "mockpay_dead_letters",
                event.event_key, event.psid);
        }
        more_exhausted = exhausted->size() == static_cast<std::size_t>(exhausted_batch_max);
    }
    if (stopping_) co_return false;
    auto due = co_await outbox_->claim_due(static_cast<std::int64_t>(redelivery_parallel),
                                           redelivery_attempts_max);
    if (!due) co_return false;
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    std::vector<Forked<bool>> wave;
    wave.reserve(due->size());
    for (OutboxEvent& event : *due) wave.emplace_back(executor, redeliver(std::move(event)));
    // Every delivery of the wave is joined before the next wave or the loop's end, so none
    // outlives this object.
    bool settled = false;
    for (Forked<bool>& delivery : wave) {
        const bool this_one = co_await delivery.join();
        settled = settled || this_one;
    }
    co_return settled && due->size() == redelivery_parallel;
}

// The outbox's awaitable itself, not a coroutine around it.
asio::awaitable<Result<std::vector<UndeliveredEvent>>> MockPay::undelivered_payments(
    std::size_t limit) {
    return outbox_->dead_payments(static_cast<std::int64_t>(limit));
}

asio::awaitable<bool> MockPay::redeliver(OutboxEvent event) {
    redeliveries_.add();
    const auto reply = co_await deliver(event.body, 1);
    co_await settle_delivery(event.event_key, reply);
    co_return delivery_settled(reply);
}

asio::awaitable<void> MockPay::settle_delivery(const std::string& event_key,
                                               const Result<http::ClientResponse>& reply) {
    if (!delivery_settled(reply)) co_return;
    co_await forget_delivered(event_key);
}

asio::awaitable<void> MockPay::forget_delivered(std::string event_key) {
    Status removed = co_await outbox_->remove(event_key);
    // Left in the outbox, it is delivered again: the shop answers it as a replay.
    if (!removed) spdlog::warn("mockpay: event {} delivered but still in the outbox", event_key);
}

http::Routes MockPay::routes() {
    return {
        {http::Method::get, "/mockpay/{psid}", [this](http::Request& r) { return page(r); }},
        {http::Method::post, "/mockpay/{psid}/emit", [this](http::Request& r) { return emit(r); }},
    };
}

namespace {
// What the payment buys, as the page names it: "Class A", or "Seats 12, 13" (their ids).
std::string ticket_text(const sessions::PaymentSession& session) {
    if (session.seats.empty()) return "Class " + std::string(class_name(session.cls));
    std::string text = session.seats.size() == 1 ? "Seat " : "Seats ";
    for (std::size_t i = 0; i < session.seats.size(); i++) {
        text += (i == 0 ? "" : ", ") + std::to_string(session.seats[i]);
    }
    return text;
}
}  // namespace

asio::awaitable<http::Response> MockPay::page(http::Request& request) {
    auto found = co_await sessions_.find(request.path_param("psid"));
    if (!found) co_return http::fault_response(found.fault(), "payment session lookup");
    if (!found->has_value()) co_return http::not_found("payment session not found");
    const sessions::PaymentSession& session = **found;
    const http::TemplateVars vars = {
        {"psid", session.psid},
        {"order_id", session.order_id},
        {"ticket", ticket_text(session)},
        {"amount_eur", euros(session.amount_cents)},
        {"webhook_url", config_.mock_webhook_url},
    };
    co_return http::Response::html(200, templates_.page("mockpay", "MockPay", vars));
}

asio::awaitable<Result<http::ClientResponse>> MockPay::deliver(const std::string& body,
                                                               int attempts) {
    TF_ASSERT_GE(attempts, 1);
    const http::Headers headers = delivery_headers(signature(config_.mock_secret, body));
    auto backoff = delivery_backoff_first;
    Result<http::ClientResponse> reply = Fault::unavailable;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        reply = co_await webhook_client_->request(http::Method::post, webhook_url_.target, body,
                                                  headers);
        // 409: another delivery of the same session is in progress; its lease will end.
        if (delivery_settled(reply) || attempt == attempts) break;
        asio::steady_timer pause(co_await asio::this_coro::executor, backoff);
        co_await pause.async_wait(asio::use_awaitable);
        backoff *= 3;
    }
    co_return reply;
}

// The event is durable in the outbox before the first attempt: if this process dies while
// delivering, a server (this one restarted, or another) delivers it later. Once the shop
// answered it, the fan's answer does not wait for the outbox to forget it: that runs after the
// answer (a shutdown waits for it; over the background limit or during shutdown it runs
// first), and were the process to die in between, the event would be delivered once more and
// answered as before (a replay, or the same refusal).
asio::awaitable<http::Response> MockPay::emit(http::Request& request) {
    const auto kind = http::form_value(request.body, "t");
    const auto outcome = kind ? parse_outcome(*kind) : std::nullopt;
    if (!outcome) co_return http::bad_request("form field t must be succeeded, failed or canceled");
    auto found = co_await sessions_.find(request.path_param("psid"));
    if (!found) co_return http::fault_response(found.fault(), "payment session lookup");
    if (!found->has_value()) co_return http::not_found("payment session not found");
    const sessions::PaymentSession& session = **found;
    TF_ASSERT_EQ(session.psid, request.path_param("psid"));  // The session that was asked for.

    const OutboxEvent event = new_event(config_.mock_secret, session, *outcome);
    auto stored = co_await outbox_->add(event, outbox_first_retry);
    if (!stored) co_return http::fault_response(stored.fault(), "payment event outbox");
    // Not stored: the form sent again while its event waits in the outbox (its delivery under
    // way, or failing while the shop is down). It is delivered all the same: under the same
    // key it is the same payment, which a shop that is back takes now rather than at the
    // outbox's next attempt, minutes later, and one that has it answers as a replay. A form
    // sent again after its event was delivered is stored anew and answered as a replay too.
    const bool resent = !*stored;
    const auto reply = co_await deliver(event.body, delivery_attempts_max);
    if (!delivery_settled(reply)) {
        // The payment happened; the shop will hear of it from the outbox.
        deliveries_deferred_.add();
        spdlog::warn("mockpay: webhook for {} not delivered yet; the outbox retries", session.psid);
    } else if (reply->status >= 400) {
        // Forgotten before the answer: a fan who sends the form again is not answered from an
        // event the shop refused.
        co_await forget_delivered(event.event_key);
        co_return http::error_response(reply->status, "webhook_rejected", reply->body);
    } else {
        auto forget = forget_delivered(event.event_key);
        co_await background_.run(std::move(forget));
    }
    if (resent) co_return resent_form_answer(*outcome, session.order_id);
    co_return http::Response::redirect(redirect_after(*outcome, session.order_id));
}

}  // namespace tigerfans::mockpay

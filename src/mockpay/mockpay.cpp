// MockPay: page, event signing and webhook delivery with retries.
#include "tigerfans/mockpay/mockpay.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/errors.hpp"

namespace tigerfans::mockpay {

namespace asio = boost::asio;

namespace {
// A webhook that answers 5xx or 409 or cannot be reached is tried again, as real providers do:
// 100, 300, 900 ms and then 2.7 s apart, so the last attempt comes after a lease left by a
// crashed delivery (webhook_lease_ms) has expired.
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

std::string euros(std::int64_t cents) {
    char text[32];
    std::snprintf(text, sizeof(text), "%lld.%02lld", static_cast<long long>(cents / 100),
                  static_cast<long long>(cents % 100));
    return text;
}
}  // namespace

std::string event_json(const sessions::PaymentSession& session, flows::PaymentOutcome outcome,
                       std::string_view event_key, std::int64_t created_at_s) {
    nlohmann::json event = {
        {"type", "payment." + std::string(flows::outcome_name(outcome))},
        {"payment_session_id", session.psid},
        {"order_id", session.order_id},
        {"amount", session.amount_cents},
        {"currency", session.currency},
        {"created_at", created_at_s},
        {"idempotency_key", event_key},
    };
    return event.dump();
}

std::string signature(std::string_view secret, std::string_view body) {
    return base64_encode(hmac_sha256(secret, body));
}

std::string redirect_after(flows::PaymentOutcome outcome, std::string_view order_id) {
    const std::string id = http::percent_encode(order_id);
    if (outcome == flows::PaymentOutcome::succeeded) return "/demo/success?order_id=" + id;
    return "/demo/checkout?status=" + std::string(flows::outcome_name(outcome)) +
           "&order_id=" + id;
}

MockPay::MockPay(asio::any_io_executor executor, const config::Config& config,
                 sessions::SessionStore& sessions, const http::Templates& templates,
                 metrics::Registry& registry)
    : config_(config),
      sessions_(sessions),
      templates_(templates),
      webhook_url_(http::parse_http_url(config.mock_webhook_url).value_or(http::HttpUrl{})),
      webhook_client_(std::make_unique<http::Client>(executor, webhook_url_.host,
                                                     webhook_url_.port,
                                                     http::default_client_options())),
      deliveries_failed_(registry.counter("tigerfans_mockpay_deliveries_failed_total",
                                          "Webhook deliveries that failed after all retries")) {}

MockPay::~MockPay() = default;

void MockPay::add_routes(http::Router& router) {
    router.get("/mockpay/{psid}", [this](http::Request& r) { return page(r); });
    router.post("/mockpay/{psid}/emit", [this](http::Request& r) { return emit(r); });
}

asio::awaitable<http::Response> MockPay::page(http::Request& request) {
    auto found = co_await sessions_.find(request.path_param("psid"));
    if (!found) co_return http::fault_response(found.fault(), "payment session lookup");
    if (!found->has_value()) co_return http::not_found("payment session not found");
    const sessions::PaymentSession& session = **found;
    const http::TemplateVars vars = {
        {"psid", session.psid},
        {"order_id", session.order_id},
        {"cls", std::string(class_name(session.cls))},
        {"amount_eur", euros(session.amount_cents)},
        {"webhook_url", config_.mock_webhook_url},
    };
    co_return http::Response::html(200, templates_.page("mockpay", "MockPay", vars));
}

asio::awaitable<Result<http::ClientResponse>> MockPay::deliver(std::string body,
                                                               std::string signed_with) {
    const http::Headers headers = {{"Content-Type", "application/json"},
                                   {"x-mockpay-signature", signed_with}};
    auto backoff = delivery_backoff_first;
    Result<http::ClientResponse> reply = Fault::unavailable;
    for (int attempt = 1; attempt <= delivery_attempts_max; attempt++) {
        reply = co_await webhook_client_->request(http::Method::post, webhook_url_.target, body,
                                                  headers);
        // 409: another delivery of the same session is in progress; its lease will end.
        if (reply && reply->status < 500 && reply->status != 409) co_return reply;
        if (attempt == delivery_attempts_max) break;
        asio::steady_timer pause(co_await asio::this_coro::executor, backoff);
        co_await pause.async_wait(asio::use_awaitable);
        backoff *= 3;
    }
    co_return reply;
}

asio::awaitable<http::Response> MockPay::emit(http::Request& request) {
    const auto kind = http::form_value(request.body, "t");
    const auto outcome = kind ? flows::parse_outcome(*kind) : std::nullopt;
    if (!outcome) co_return http::bad_request("form field t must be succeeded, failed or canceled");
    auto found = co_await sessions_.find(request.path_param("psid"));
    if (!found) co_return http::fault_response(found.fault(), "payment session lookup");
    if (!found->has_value()) co_return http::not_found("payment session not found");
    const sessions::PaymentSession& session = **found;

    std::string body = event_json(session, *outcome, new_event_key(), unix_now_us() / 1'000'000);
    std::string signed_with = signature(config_.mock_secret, body);
    auto reply = co_await deliver(std::move(body), std::move(signed_with));
    if (!reply || reply->status >= 500) {
        deliveries_failed_.add();
        spdlog::warn("mockpay: webhook delivery for {} failed", session.psid);
        co_return http::error_response(502, "webhook_delivery_failed",
                                       "the payment provider could not reach the shop; try again");
    }
    if (reply->status >= 400) {
        co_return http::error_response(reply->status, "webhook_rejected", reply->body);
    }
    co_return http::Response::redirect(redirect_after(*outcome, session.order_id));
}

}  // namespace tigerfans::mockpay

// The payment webhook: verify the provider's signature, find the session, pass the idempotency
// gate, settle the holds (post on success, with a late booking when they expired; void on
// failure), write the order durably, drop the session. A replay changes nothing.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "tigerfans/flows/services.hpp"
#include "tigerfans/orders/order.hpp"

namespace tigerfans::flows {

enum class PaymentOutcome : std::uint8_t { succeeded, failed, canceled };

std::string_view outcome_name(PaymentOutcome outcome);  // "succeeded", ...
std::optional<PaymentOutcome> parse_outcome(std::string_view name);

struct WebhookEvent {
    PaymentOutcome outcome = PaymentOutcome::succeeded;
    std::string payment_session_id;
    std::string idempotency_key;  // May be empty: then the session flag alone gates.
};

struct WebhookRejected {
    unsigned status;  // 400
    std::string error;
    std::string detail;
};

// Checks the base64 HMAC-SHA256 `signature` of the exact `body`, then parses the event.
std::variant<WebhookEvent, WebhookRejected> verify_webhook(std::string_view secret,
                                                           std::string_view body,
                                                           std::string_view signature);

struct WebhookSettled {
    bool idempotent = false;  // A replay: nothing changed.
    orders::OrderStatus status = orders::OrderStatus::paid;
};

struct SessionUnknown {};

using WebhookOutcome = std::variant<WebhookSettled, SessionUnknown, Fault>;

// On a fault after the gate closed, the gate is reopened so the provider's retry is processed.
asio::awaitable<WebhookOutcome> handle_webhook(Services& services, WebhookEvent event);

}  // namespace tigerfans::flows

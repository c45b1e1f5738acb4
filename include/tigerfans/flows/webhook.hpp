// The payment webhook: verify the provider's signature, take the session's lease at the
// idempotency gate while finding the session, settle the holds (post on success, with a late
// booking when they expired; void on failure), write the order durably, mark the gate done
// while dropping the session (one round trip), answer. A replay changes nothing and answers
// with the stored order's status.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "tigerfans/core/ticket.hpp"
#include "tigerfans/flows/services.hpp"
#include "tigerfans/mockpay/event.hpp"
#include "tigerfans/orders/order.hpp"

namespace tigerfans::flows {

// The outcome the provider's event carries (its format: tigerfans/mockpay/event.hpp).
using mockpay::outcome_name;
using mockpay::parse_outcome;
using mockpay::PaymentOutcome;

// What an event says of the order it pays for: enough to record the payment as owed back
// (PAID_UNFULFILLED) when the session is gone before the event could settle it.
struct EventOrder {
    std::string order_id;
    TicketClass cls = TicketClass::a;
    std::int64_t amount_cents = 0;
    std::string currency;
    std::string customer_email;
    std::int64_t created_at_s = 0;
};

struct WebhookEvent {
    PaymentOutcome outcome = PaymentOutcome::succeeded;
    std::string payment_session_id;
    // The provider's key, or, when the event carries none, "<psid>:<type>"; never empty. The
    // gate itself is per session: one order per session, whatever the key.
    std::string idempotency_key;
    // Nullopt when the event lacks any of it or has any of it malformed: such an event still
    // settles its session, only a payment for a session that is gone then answers 404.
    std::optional<EventOrder> order;
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
    bool idempotent = false;                                 // A replay: nothing changed.
    orders::OrderStatus status = orders::OrderStatus::paid;  // As stored.
};

struct SessionUnknown {};

// Another delivery of the same session holds the lease: the provider should retry shortly.
struct DeliveryInProgress {};

using WebhookOutcome = std::variant<WebhookSettled, SessionUnknown, DeliveryInProgress, Fault>;

// On a fault while holding the lease, the lease is released so the provider's retry is
// processed at once; if this process dies instead, the lease expires by itself.
asio::awaitable<WebhookOutcome> handle_webhook(Services& services, WebhookEvent event);

}  // namespace tigerfans::flows

// MockPay's webhook event: the outcome names, the JSON body and its signature.
#include "tigerfans/mockpay/event.hpp"

#include <utility>

#include "tigerfans/core/crypto.hpp"
#include "tigerfans/http/json_writer.hpp"

namespace tigerfans::mockpay {

std::string_view outcome_name(PaymentOutcome outcome) {
    switch (outcome) {
        case PaymentOutcome::succeeded: return "succeeded";
        case PaymentOutcome::failed: return "failed";
        case PaymentOutcome::canceled: return "canceled";
    }
    return "unknown";
}

std::optional<PaymentOutcome> parse_outcome(std::string_view name) {
    for (PaymentOutcome outcome :
         {PaymentOutcome::succeeded, PaymentOutcome::failed, PaymentOutcome::canceled}) {
        if (outcome_name(outcome) == name) return outcome;
    }
    return std::nullopt;
}

// Members in alphabetical order, the bytes nlohmann's dump() writes for the same object.
std::string event_json(const PaymentEvent& event) {
    http::JsonObjectWriter json;
    json.integer("amount", event.amount_cents)
        .string("cls", event.cls)
        .integer("created_at", event.created_at_s)
        .string("currency", event.currency)
        .string("customer_email", event.customer_email)
        .string("idempotency_key", event.idempotency_key)
        .string("order_id", event.order_id)
        .string("payment_session_id", event.payment_session_id)
        .string("type", "payment." + std::string(outcome_name(event.outcome)));
    return std::move(json).finish();
}

std::string signature(std::string_view secret, std::string_view body) {
    return base64_encode(hmac_sha256(secret, body));
}

std::string session_event_key(std::string_view secret, std::string_view psid,
                              PaymentOutcome outcome) {
    const std::string digest = hmac_sha256(
        secret, "event-key:" + std::string(psid) + ":" + std::string(outcome_name(outcome)));
    return "evt_" + lower_hex(std::string_view(digest).substr(0, 16));
}

}  // namespace tigerfans::mockpay

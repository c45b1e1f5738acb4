// MockPay's webhook event: the outcome names, the JSON body and its signature.
#include "tigerfans/mockpay/event.hpp"

#include <nlohmann/json.hpp>

#include "tigerfans/core/crypto.hpp"

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

std::string event_json(const PaymentEvent& event) {
    const nlohmann::json json = {
        {"type", "payment." + std::string(outcome_name(event.outcome))},
        {"payment_session_id", event.payment_session_id},
        {"order_id", event.order_id},
        {"amount", event.amount_cents},
        {"currency", event.currency},
        {"created_at", event.created_at_s},
        {"idempotency_key", event.idempotency_key},
    };
    return json.dump();
}

std::string signature(std::string_view secret, std::string_view body) {
    return base64_encode(hmac_sha256(secret, body));
}

}  // namespace tigerfans::mockpay

// MockPay's webhook event, the format both ends share: the provider inside the server builds
// and signs it, the shop's webhook verifies and parses it, and the load client's webhook phase
// signs its own. A JSON object whose type is "payment." and the outcome's name, signed with
// HMAC-SHA256 over its exact bytes; the base64 signature travels in the signature header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tigerfans::mockpay {

inline constexpr const char* signature_header = "x-mockpay-signature";

enum class PaymentOutcome : std::uint8_t { succeeded, failed, canceled };

std::string_view outcome_name(PaymentOutcome outcome);  // "succeeded", ...
std::optional<PaymentOutcome> parse_outcome(std::string_view name);

struct PaymentEvent {
    PaymentOutcome outcome = PaymentOutcome::succeeded;
    std::string payment_session_id;
    std::string order_id;
    std::int64_t amount_cents = 0;
    std::string currency;
    std::int64_t created_at_s = 0;
    std::string idempotency_key;
    // What the shop put in the payment session, echoed back as providers echo a shop's
    // metadata: with them the shop can record a payment whose session it no longer has.
    std::string cls;
    std::string customer_email;
};

// An event MockPay gave up delivering after every attempt (about two hours), kept for the
// operator: a payment among them reached no order, and is owed back unless its order was
// stored after all.
struct UndeliveredEvent {
    std::string event_key;
    std::string psid;
    std::string body;                // The event as it was signed and sent.
    std::int64_t gave_up_at_us = 0;  // Unix microseconds.
};

// The event body exactly as it is signed and sent.
std::string event_json(const PaymentEvent& event);
// Base64 of HMAC-SHA256(secret, body): the signature header's value.
std::string signature(std::string_view secret, std::string_view body);

// The idempotency key of a payment session's event with `outcome`: "evt_" and the first 32
// hex digits of HMAC-SHA256(secret, "event-key:" + psid + ":" + the outcome's name). Every
// emit of one session and outcome carries it, so a payment form sent twice is one payment:
// the shop answers a key it has settled as a replay, and MockPay's outbox holds one event per
// key. (Another secret gives another key: a form sent again across a change of the secret is
// a second payment, owed back.)
std::string session_event_key(std::string_view secret, std::string_view psid,
                              PaymentOutcome outcome);

}  // namespace tigerfans::mockpay

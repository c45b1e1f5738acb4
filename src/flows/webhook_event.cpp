// The provider's event: its signature checked, then every field of its JSON.
#include "tigerfans/flows/webhook.hpp"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/flows/checkout.hpp"

namespace tigerfans::flows {

namespace {
constexpr std::size_t psid_bytes_max = 128;
constexpr std::size_t event_key_bytes_max = 255;
// Seconds that still fit in microseconds, as orders keep their times.
constexpr std::int64_t created_at_s_max = INT64_MAX / 1'000'000;

// Ids and keys the provider sends back to us: 1 to 128 printable ASCII characters, no spaces.
bool is_event_token(std::string_view text, std::size_t bytes_max) {
    if (text.empty() || text.size() > bytes_max) return false;
    return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < '\x7f'; });
}

// The member `name` when it is present and a string; nullptr otherwise.
const std::string* string_member(const nlohmann::json& object, const char* name) {
    const auto found = object.find(name);
    if (found == object.end() || !found->is_string()) return nullptr;
    return &found->get_ref<const std::string&>();
}

// The member `name` when it is present and an integer that fits; nullopt otherwise.
std::optional<std::int64_t> integer_member(const nlohmann::json& object, const char* name) {
    const auto found = object.find(name);
    if (found == object.end() || !found->is_number_integer()) return std::nullopt;
    if (found->is_number_unsigned() && found->get<std::uint64_t>() > INT64_MAX) return std::nullopt;
    return found->get<std::int64_t>();
}

// The order the event pays for, when every field of it is there and sound (the same checks
// as checkout's, since the order row is written from them).
std::optional<EventOrder> event_order(const nlohmann::json& json) {
    const std::string* order_id = string_member(json, "order_id");
    const std::string* cls = string_member(json, "cls");
    const std::string* currency = string_member(json, "currency");
    const std::string* email = string_member(json, "customer_email");
    const std::optional<std::int64_t> amount = integer_member(json, "amount");
    const std::optional<std::int64_t> created_at = integer_member(json, "created_at");
    if (!order_id || !cls || !currency || !email || !amount || !created_at) return std::nullopt;
    const std::optional<TicketClass> parsed_class = parse_class(*cls);
    if (!orders::is_valid_order_id(*order_id) || !parsed_class || *amount < 0 || *created_at < 0 ||
        *created_at > created_at_s_max || *currency != tigerfans::currency ||
        !is_valid_email(*email)) {
        return std::nullopt;
    }
    return EventOrder{*order_id, *parsed_class, *amount, *currency, *email, *created_at};
}

WebhookRejected invalid_event(std::string detail) {
    return WebhookRejected{400, "invalid_event", std::move(detail)};
}

// Every field's type is checked: a provider retries a 5xx forever, so nothing here may throw.
std::variant<WebhookEvent, WebhookRejected> parse_event(const nlohmann::json& json) {
    const std::string* type = string_member(json, "type");
    const std::optional<PaymentOutcome> outcome =
        type && type->starts_with("payment.") ? parse_outcome(std::string_view(*type).substr(8))
                                              : std::nullopt;
    if (!outcome) {
        return invalid_event("type must be payment.succeeded, payment.failed or payment.canceled");
    }
    const std::string* psid = string_member(json, "payment_session_id");
    if (!psid || !is_event_token(*psid, psid_bytes_max)) {
        return invalid_event(
            "payment_session_id must be a string of 1 to 128 printable characters");
    }
    WebhookEvent event{*outcome, *psid, *psid + ":" + *type};
    // The key is the provider's business: any string is taken (it names the event in logs);
    // only another type, or one beyond the limit, is refused. An empty one counts as absent.
    if (const auto key = json.find("idempotency_key"); key != json.end() && !key->is_null()) {
        const std::string* text = string_member(json, "idempotency_key");
        if (!text || text->size() > event_key_bytes_max) {
            return invalid_event("idempotency_key must be a string of at most 255 bytes");
        }
        if (!text->empty()) event.idempotency_key = *text;
    }
    TF_ASSERT(!event.idempotency_key.empty());
    event.order = event_order(json);
    return event;
}

}  // namespace

std::variant<WebhookEvent, WebhookRejected> verify_webhook(std::string_view secret,
                                                           std::string_view body,
                                                           std::string_view signature) {
    const std::string expected = mockpay::signature(secret, body);
    if (signature.empty() || !constant_time_equal(expected, signature)) {
        return WebhookRejected{400, "invalid_signature",
                               std::string(mockpay::signature_header) + " does not match"};
    }
    const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return WebhookRejected{400, "invalid_json", "the event must be a JSON object"};
    }
    return parse_event(json);
}

}  // namespace tigerfans::flows

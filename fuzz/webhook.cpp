// Fuzz target: the payment webhook's verification, as POST /payments/webhook runs it. An even
// first byte signs the rest of the input with the secret, so that the event's JSON and fields
// are checked past the signature; an odd one splits the rest at its first newline into the
// signature header and the body (no newline: no signature), which must then be refused unless
// the signature matches.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "require.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/flows/webhook.hpp"
#include "tigerfans/http/errors.hpp"

namespace {

using namespace tigerfans;
using namespace tigerfans::flows;
using fuzz::require;

constexpr std::string_view secret = "supersecret";

bool is_printable_token(std::string_view text) {
    for (char c : text) {
        if (c <= ' ' || c >= '\x7f') return false;
    }
    return true;
}

void check_event(const WebhookEvent& event, std::string_view body, std::string_view signature) {
    require(signature == base64_encode(hmac_sha256(secret, body)), "only signed events pass");
    require(!event.payment_session_id.empty() && event.payment_session_id.size() <= 128 &&
                is_printable_token(event.payment_session_id),
            "a payment session id is 1 to 128 printable characters");
    require(!event.idempotency_key.empty() && event.idempotency_key.size() <= 255,
            "an idempotency key is 1 to 255 bytes");
    require(parse_outcome(outcome_name(event.outcome)) == event.outcome, "an outcome names itself");
}

void verify(std::string_view body, std::string_view signature, bool signed_by_us) {
    const auto verified = verify_webhook(secret, body, signature);
    if (const auto* event = std::get_if<WebhookEvent>(&verified)) {
        check_event(*event, body, signature);
        return;
    }
    const auto& rejected = std::get<WebhookRejected>(verified);
    require(rejected.status == 400, "a rejected event is answered 400");
    require(!signed_by_us || rejected.error != "invalid_signature",
            "a signed event passes the signature check");
    http::error_response(rejected.status, rejected.error, rejected.detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0) {
        verify(rest, base64_encode(hmac_sha256(secret, rest)), true);
        return 0;
    }
    const std::size_t newline = rest.find('\n');
    if (newline == std::string_view::npos) {
        verify(rest, {}, false);
    } else {
        verify(rest.substr(newline + 1), rest.substr(0, newline), false);
    }
    return 0;
}

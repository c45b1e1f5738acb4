// Fuzz target: the body of POST /api/checkout, parsed as its handler parses it. An accepted
// request must hold a valid email and survive the Redis session codec, where checkout stores
// it, unchanged.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "require.hpp"
#include "sessions/redis/codec.hpp"
#include "tigerfans/flows/checkout.hpp"
#include "tigerfans/http/errors.hpp"

namespace {

using namespace tigerfans;
using namespace tigerfans::flows;
using fuzz::require;

void check_accepted(const CheckoutRequest& request) {
    require(is_valid_email(request.customer_email), "an accepted email is valid");
    require(parse_class(class_name(request.cls)) == request.cls, "a class names itself");
    sessions::PaymentSession session;
    session.psid = "ps_fuzz";
    session.order_id = "order_fuzz";
    session.cls = request.cls;
    session.customer_email = request.customer_email;
    session.currency = "eur";
    const auto stored = sessions::redis::decode_session(sessions::redis::encode_session(session));
    require(stored.has_value() && stored->customer_email == request.customer_email &&
                stored->cls == request.cls,
            "the session codec keeps the email and the class");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto parsed = parse_checkout_request(body);
    if (const auto* invalid = std::get_if<InvalidInput>(&parsed)) {
        http::bad_request(invalid->detail);
        return 0;
    }
    check_accepted(std::get<CheckoutRequest>(parsed));
    return 0;
}

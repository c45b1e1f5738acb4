// Fuzz target: the body of POST /api/checkout, parsed as its handler parses it. An accepted
// request must hold a valid email, named seats ascending and distinct (1 to 8) or a best-available
// count of 1 to 8, and survive the Redis session codec, where checkout stores it, unchanged.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "require.hpp"
#include "sessions/redis/codec.hpp"
#include "tigerfans/core/limits.hpp"
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
    if (!request.seats.empty()) {
        require(
            request.seats.size() <= limits::seats_per_order_max &&
                std::adjacent_find(request.seats.begin(), request.seats.end(),
                                   [](auto a, auto b) { return a >= b; }) == request.seats.end(),
            "named seats are ascending, distinct and at most the limit");
        session.seats = request.seats;
        session.seat_hold_ids.assign(request.seats.size(), 1);
    }
    if (request.best_available) {
        require(request.seats.empty() && !request.best_available->category.empty() &&
                    request.best_available->count >= 1 &&
                    request.best_available->count <= limits::seats_per_order_max,
                "best available asks for 1 to the limit of a named category, and no named seats");
    }
    const auto stored = sessions::redis::decode_session(sessions::redis::encode_session(session));
    require(stored.has_value() && stored->customer_email == request.customer_email &&
                stored->cls == request.cls && stored->seats == request.seats,
            "the session codec keeps the email, the class and the seats");
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

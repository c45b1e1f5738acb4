// Checkout, the hot path: validate, claim one of the email's ticket slots, hold a ticket and a
// goodie, save the payment session, answer where to pay. Never touches the order database.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "tigerfans/core/ticket.hpp"
#include "tigerfans/flows/services.hpp"

namespace tigerfans::flows {

struct CheckoutRequest {
    TicketClass cls = TicketClass::a;
    std::string customer_email;
};

struct InvalidInput {
    std::string detail;
};

// Parses `{"cls": "A"|"B", "customer_email": "..."}`.
std::variant<CheckoutRequest, InvalidInput> parse_checkout_request(std::string_view body);

// A plain check: one '@', something before it, a dot in the domain, no spaces; at most
// email_bytes_max bytes.
bool is_valid_email(std::string_view email);
inline constexpr std::size_t email_bytes_max = 254;

struct CheckoutAccepted {
    std::string order_id;
    std::string payment_session_id;
    std::int64_t amount_cents = 0;
};

struct SoldOut {};

// The email already has TICKETS_PER_EMAIL paid or held tickets.
struct EmailLimitReached {
    std::uint32_t limit = 0;
};
// The "error" of its 409 answer.
inline constexpr std::string_view ticket_limit_error = "ticket_limit";

using CheckoutOutcome = std::variant<CheckoutAccepted, SoldOut, EmailLimitReached, Fault>;

// Claims a slot of the email (flows/email_limit.hpp) before the hold and frees it when no
// accepted checkout comes of it. On any failure after the hold, the holds are voided before
// answering: nothing leaks.
asio::awaitable<CheckoutOutcome> checkout(Services& services, CheckoutRequest request);

}  // namespace tigerfans::flows

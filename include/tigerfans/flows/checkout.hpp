// Checkout, the hot path: validate, claim one of the email's ticket slots, hold a ticket and a
// goodie (or, with reserved seating, the seats asked for), save the payment session, answer
// where to pay. Never touches the order database.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tigerfans/core/ticket.hpp"
#include "tigerfans/flows/services.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::flows {

// "The best `count` seats together in `category`" (seating/availability.hpp).
struct BestAvailableAsk {
    std::string category;
    std::uint32_t count = 0;

    friend bool operator==(const BestAvailableAsk&, const BestAvailableAsk&) = default;
};

// A class ticket, or seats: the ones named, or the best ones the server finds. A seat order
// has no class (cls keeps its default and means nothing) and holds no goodie.
struct CheckoutRequest {
    TicketClass cls = TicketClass::a;
    std::string customer_email;
    std::vector<seating::SeatId> seats;  // Ascending and distinct, 1 to 8; or empty.
    std::optional<BestAvailableAsk> best_available;

    bool wants_seats() const { return !seats.empty() || best_available.has_value(); }
};

struct InvalidInput {
    std::string detail;
};

// Parses `{"cls": "A"|"B", "customer_email": "..."}`, or, for reserved seats, `cls` left out
// and one of `"seats": [ids]` or `"best_available": {"category": "...", "count": n}`.
std::variant<CheckoutRequest, InvalidInput> parse_checkout_request(std::string_view body);

// A plain check: one '@', something before it, a dot in the domain, no spaces; at most
// email_bytes_max bytes.
bool is_valid_email(std::string_view email);
inline constexpr std::size_t email_bytes_max = 254;

struct CheckoutAccepted {
    std::string order_id;
    std::string payment_session_id;
    std::int64_t amount_cents = 0;
    std::vector<seating::SeatId> seats;  // The seats held, for a seat order.
};

// Nothing of the class left, or (best available) no seats of the category together.
struct SoldOut {
    bool seats = false;
};

// Some of the seats asked for are held or sold by others (as the ledger saw them just after
// the refusal): nothing was held.
struct SeatsGone {
    std::vector<seating::SeatId> gone;
};

// Seats were there but others' holds kept winning them (or came and went) while this request
// tried: nothing was held, and a retry shortly may well succeed.
struct SeatsContended {};

// The email already has TICKETS_PER_EMAIL paid or held tickets.
struct EmailLimitReached {
    std::uint32_t limit = 0;
};
// The "error" of its 409 answer.
inline constexpr std::string_view ticket_limit_error = "ticket_limit";
// The "error" of SeatsContended's 409 answer.
inline constexpr std::string_view seats_contended_error = "seats_contended";

using CheckoutOutcome = std::variant<CheckoutAccepted, SoldOut, SeatsGone, SeatsContended,
                                     EmailLimitReached, InvalidInput, Fault>;

// Claims a slot of the email (flows/email_limit.hpp) before the hold and frees it when no
// accepted checkout comes of it. On any failure after the hold, the holds are voided before
// answering: nothing leaks. Seats on a server without a venue, or not in it, are InvalidInput.
asio::awaitable<CheckoutOutcome> checkout(Services& services, CheckoutRequest request);

// How many runs of seats best-available tries to hold before it answers SeatsContended.
inline constexpr int best_available_attempts_max = 4;

}  // namespace tigerfans::flows

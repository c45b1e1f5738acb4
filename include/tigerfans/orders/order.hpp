// A paid (or failed) order as PostgreSQL keeps it: the durable outcome of a payment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tigerfans/core/ticket.hpp"
#include "tigerfans/core/u128.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::orders {

enum class OrderStatus : std::uint8_t {
    paid,              // Paid and a ticket booked.
    paid_unfulfilled,  // Paid but nothing left to book: a refund case, never silent.
    failed,
    canceled,
};

std::string_view status_name(OrderStatus status);  // "PAID", "PAID_UNFULFILLED", ...
std::optional<OrderStatus> parse_status(std::string_view name);

// The customer paid: PAID or PAID_UNFULFILLED. A stored order moves only from unpaid to paid
// (a success arriving after, or racing with, a failure or cancel of the same session), never
// back: a paid order is never turned into FAILED or CANCELED.
bool is_paid(OrderStatus status);
bool may_replace(OrderStatus stored, OrderStatus incoming);

struct Order {
    std::string id;
    u128 ticket_transfer_id = 0;
    u128 goodie_transfer_id = 0;
    bool try_goodie = false;
    TicketClass cls = TicketClass::a;
    int qty = 1;
    std::int64_t amount_cents = 0;
    std::string currency;
    std::string customer_email;
    OrderStatus status = OrderStatus::paid;
    std::int64_t created_at_us = 0;
    std::optional<std::int64_t> paid_at_us;
    std::string ticket_code;  // Empty unless a ticket was booked.
    bool got_goodie = false;
    std::vector<seating::SeatId> seats;  // A seat order's seats, ascending; empty for a class.
    // The provider's key of the payment that paid the order; empty when unpaid or unknown (an
    // order the reconciler wrote from the ledger, until a delivery of its payment arrives).
    std::string payment_key;
};

// A payment of an order that another payment had already paid (the payment form submitted
// twice): the order keeps the first, and this one is owed back to the customer.
struct DuplicatePayment {
    std::string payment_key;  // The duplicate's own key: each is recorded once.
    std::string order_id;
    std::string paid_by;  // The key of the payment the order kept.
    std::int64_t amount_cents = 0;
    std::string currency;
    std::string customer_email;
    std::int64_t recorded_at_us = 0;
};

// A provider's payment key as an order keeps it: as it is when it is printable ASCII, else
// "hex:" and its bytes in hex (a key may hold any bytes, a NUL among them, which PostgreSQL
// cannot store); a key that itself begins with "hex:" is written in hex too, so two keys
// never share a stored form.
std::string stored_payment_key(std::string_view key);

// Order ids are 32 lower-case hex digits (core/ids.hpp); anything else cannot exist.
bool is_valid_order_id(std::string_view id);

}  // namespace tigerfans::orders

// Settling a seat order's payment (flows/webhook.cpp calls it for a session with seats): a
// payment sells every seat of the order or the order is a refund case; a failure or cancel
// frees them. Every step is idempotent by id, as for classes.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "tigerfans/flows/services.hpp"
#include "tigerfans/flows/webhook.hpp"

namespace tigerfans::flows {

// What checkout holds: seats of this venue, ascending, each with a hold (pairwise). Holds read
// back otherwise (a foreign writer, another venue file) settle nothing in the ledger.
bool seat_holds_are_sound(const Seating& seating, const std::vector<seating::SeatId>& seats,
                          const std::vector<u128>& hold_ids);

// `order` is the session's order before settling; the answer is the order to store.
asio::awaitable<Result<orders::Order>> settle_seats(Services& services,
                                                    const sessions::PaymentSession& session,
                                                    PaymentOutcome outcome, orders::Order order);

}  // namespace tigerfans::flows

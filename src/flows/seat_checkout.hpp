// Checkout of reserved seats (flows/checkout.hpp calls it for a request that names seats or
// asks for the best available): the seats are held whole or not at all, and the payment session
// carries them to the webhook.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>

#include "tigerfans/flows/checkout.hpp"

namespace tigerfans::flows {

// Why the request cannot be a seat order of this server: no venue, a seat outside it, a
// category it does not have. nullopt when it can.
std::optional<InvalidInput> check_seat_request(const Services& services,
                                               const CheckoutRequest& request);

// Holds the seats for the order `order_id` and saves the session; when the hold or the save
// fails, or the holds were answered late for a checkout that began at `began_us`
// (holds_answered_late), the seats' holds are voided (and a session that may have been written
// is removed) before answering. The request passed check_seat_request.
asio::awaitable<CheckoutOutcome> hold_seats_and_save(Services& services,
                                                     const CheckoutRequest& request, u128 order_id,
                                                     std::int64_t began_us);

}  // namespace tigerfans::flows

// The seats of one order, and the ids of their holds, as text: decimal numbers joined by
// commas ("12,13,14"), the empty text for no seats. A payment session keeps them this way in
// Redis and PostgreSQL, and an order row in PostgreSQL, so an operator reads them as they are.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tigerfans/core/u128.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::seating {

std::string seat_list_text(std::span<const SeatId> seats);
std::string hold_list_text(std::span<const u128> hold_ids);

// nullopt for anything but comma-joined decimals (no signs, spaces or empty members), or for
// more than limits::seats_per_order_max of them.
std::optional<std::vector<SeatId>> parse_seat_list(std::string_view text);
std::optional<std::vector<u128>> parse_hold_list(std::string_view text);

}  // namespace tigerfans::seating

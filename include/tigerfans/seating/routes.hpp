// The seating routes: GET /api/venue, the layout a seat map draws (sections, rows with their
// first seat id and geometry, categories with prices, the stage), made once at start-up; and
// GET /api/seats, every seat's state from the seat map's snapshot (seat_map.hpp). Both carry an
// ETag, so a browser fetches the layout once and polls the seats for 304s.
#pragma once

#include <string>

#include "tigerfans/http/router.hpp"
#include "tigerfans/seating/seat_map.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::seating {

// The layout as JSON; seat ids are explicit (each row's `first_seat`), so a map needs no rule
// of the file's order to name seats.
std::string venue_layout_json(const Venue& venue);

// `venue` may be null (VENUE unset): both routes then answer 404 saying so; otherwise
// `seat_map` is the venue's and must outlive the routes. The layout is made here, once; the
// routes keep no reference to the venue.
http::Routes venue_routes(const Venue* venue, SeatMap* seat_map);

}  // namespace tigerfans::seating

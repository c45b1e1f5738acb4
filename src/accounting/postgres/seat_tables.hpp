// The PostgreSQL ledger's seats (docs/SEATING.md), on its tables beside the classes'. Database
// thread only.
//
//   ledger_seats(venue, seat pk, state, hold_id, expires_at): one row per seat of the venue,
//       created at start-up; state 0 free, 1 held (until expires_at), 2 sold. A partial index
//       on the seats that are not free keeps the map's read small while a sale is young.
//   ledger_seat_holds(id pk, venue, seat, status, created_at, expires_at, resolved_at,
//       order_id): every seat hold ever made, for what a post or void answers.
//
// Every transaction that changes seats first locks their rows FOR UPDATE in seat order, so two
// holds that share seats wait for each other instead of deadlocking, on every server process.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "tigerfans/accounting/seat_ledger.hpp"

namespace tigerfans::accounting::postgres {

struct SeatVenue {
    std::string key;  // From the venue's seat digest: another seat layout, other rows.
    std::uint32_t seat_count = 0;
};

SeatVenue seat_venue(const seating::Venue& venue);

void prepare_seat_statements(pqxx::connection& connection);

// Creates the tables and a row per seat; a restart keeps every row as it is.
void create_seats(pqxx::connection& connection, const SeatVenue& venue);

seating::SeatStates read_seat_states(pqxx::connection& connection, const SeatVenue& venue);

// All seats held, or none and the ones that were taken. A retry of a hold made before (any of
// its ids already stored) answers held and changes nothing, as on TigerBeetle.
SeatHoldResult hold_seats(pqxx::connection& connection, const SeatVenue& venue,
                          const SeatHoldRequest& request);

// Every hold of the venue, or only those of `order_id` when it is not 0 (no index: a scan).
std::vector<SeatHoldEntry> read_seat_holds(pqxx::connection& connection, const SeatVenue& venue,
                                           u128 order_id);

std::vector<Resolution> resolve_seats(pqxx::connection& connection, const SeatVenue& venue,
                                      const SeatHolds& holds, bool posting);

}  // namespace tigerfans::accounting::postgres

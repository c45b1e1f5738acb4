// SQL of the PostgreSQL ledger's seats (see seat_tables.hpp). Time is the database's clock,
// statement_timestamp(), as for the classes' holds.
#include "accounting/postgres/seat_tables.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

#include "postgres/row_values.hpp"
#include "postgres/schema.hpp"
#include "postgres/sql_array.hpp"
#include "postgres/statement.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/u128.hpp"

namespace tigerfans::accounting::postgres {

namespace {

using tigerfans::postgres::ArrayLiteral;
using tigerfans::postgres::SchemaStep;
using tigerfans::postgres::Statement;

constexpr std::string_view create_seats_sql = R"(
CREATE TABLE IF NOT EXISTS ledger_seats (
    venue text NOT NULL,
    seat integer NOT NULL CHECK (seat >= 0),
    state smallint NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
    hold_id text,
    expires_at timestamptz,
    PRIMARY KEY (venue, seat)
))";

constexpr std::string_view create_taken_index_sql = R"(
CREATE INDEX IF NOT EXISTS ledger_seats_taken ON ledger_seats (venue, seat) WHERE state <> 0)";

constexpr std::string_view create_seat_holds_sql = R"(
CREATE TABLE IF NOT EXISTS ledger_seat_holds (
    id text PRIMARY KEY,
    venue text NOT NULL,
    seat integer NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    resolved_at timestamptz,
    order_id text
))";

constexpr Statement add_seats_statement{"seats_add", R"(
INSERT INTO ledger_seats (venue, seat) SELECT $1, s FROM generate_series(0, $2 - 1) AS s
ON CONFLICT DO NOTHING)"};

constexpr Statement taken_statement{"seats_taken", R"(
SELECT seat, state, expires_at > statement_timestamp() FROM ledger_seats
WHERE venue = $1 AND state <> 0)"};

// The sort sits below the row locks: rows are locked in seat order.
constexpr Statement lock_statement{"seats_lock", R"(
SELECT seat, state, coalesce(hold_id, ''), coalesce(expires_at > statement_timestamp(), false)
FROM ledger_seats WHERE venue = $1 AND seat = ANY($2::integer[]) ORDER BY seat FOR UPDATE)"};

// Only this venue's: a hold of another venue's seats (a session from before the venue file
// changed) is none of this venue's, as on TigerBeetle, whose seat accounts would differ.
constexpr Statement known_holds_statement{"seats_known_holds", R"(
SELECT id, seat, status, expires_at > statement_timestamp() FROM ledger_seat_holds
WHERE id = ANY($1::text[]) AND venue = $2)"};

constexpr Statement hold_statement{"seats_hold", R"(
UPDATE ledger_seats SET state = 1, hold_id = $3,
    expires_at = statement_timestamp() + make_interval(secs => $4)
WHERE venue = $1 AND seat = $2)"};

constexpr Statement record_hold_statement{"seats_record_hold", R"(
INSERT INTO ledger_seat_holds (id, venue, seat, status, created_at, expires_at, order_id)
VALUES ($1, $2, $3, 'pending', statement_timestamp(),
        statement_timestamp() + make_interval(secs => $4), nullif($5, '')))"};

// Only while the seat still carries the hold ($4) that is resolved.
constexpr Statement set_seat_statement{"seats_set", R"(
UPDATE ledger_seats SET state = $3::smallint,
    hold_id = CASE WHEN $3::smallint = 0 THEN NULL ELSE hold_id END, expires_at = NULL
WHERE venue = $1 AND seat = $2 AND hold_id = $4)"};

constexpr Statement set_hold_statement{"seats_set_hold", R"(
UPDATE ledger_seat_holds SET status = $2::text,
    resolved_at = CASE WHEN $2::text = 'expired' THEN expires_at ELSE statement_timestamp() END
WHERE id = $1 AND status = 'pending')"};

// A pending hold past its timeout is expired (the tables mark it so only when its seat is next
// touched).
constexpr Statement holds_statement{"seats_holds", R"(
SELECT seat, id, coalesce(order_id, ''),
       CASE WHEN status = 'pending' AND expires_at <= statement_timestamp() THEN 'expired'
            ELSE status END,
       (extract(epoch FROM created_at) * 1000000)::bigint,
       (extract(epoch FROM coalesce(resolved_at, CASE WHEN expires_at <= statement_timestamp()
                                                      THEN expires_at END)) * 1000000)::bigint
FROM ledger_seat_holds WHERE venue = $1 AND ($2::text = '' OR order_id = $2::text))"};

EntryState hold_state(const std::string& status) {
    if (status == "pending") return EntryState::pending;
    if (status == "posted") return EntryState::posted;
    if (status == "voided") return EntryState::voided;
    if (status == "expired") return EntryState::expired;
    throw std::runtime_error("ledger: a seat hold's status is " + status);
}

struct LockedSeat {
    int state = 0;
    std::string hold_id;  // Empty when none.
    bool live = false;    // A hold not past its timeout.
};

// The seats' rows, locked in seat order.
std::map<SeatId, LockedSeat> lock_seats(pqxx::work& txn, const SeatVenue& venue,
                                        const std::vector<SeatId>& seats) {
    ArrayLiteral wanted;
    for (SeatId seat : seats) wanted.add_int(seat);
    std::map<SeatId, LockedSeat> locked;
    for (const pqxx::row& row : txn.exec_prepared(lock_statement.name, venue.key, wanted.text())) {
        locked[row[0].as<SeatId>()] =
            LockedSeat{row[1].as<int>(), row[2].as<std::string>(), row[3].as<bool>()};
    }
    if (locked.size() != seats.size()) throw std::runtime_error("ledger: a seat row is missing");
    return locked;
}

// Sets a seat that carries `hold_id` to `state`; a seat that does not carry it means the rows
// disagree, which no transaction here leaves behind: the batch fails rather than go on.
void set_seat(pqxx::work& txn, const SeatVenue& venue, SeatId seat, int state,
              const std::string& hold_id) {
    const pqxx::result changed =
        txn.exec_prepared(set_seat_statement.name, venue.key, seat, state, hold_id);
    if (changed.affected_rows() != 1) {
        throw std::runtime_error("ledger: seat " + std::to_string(seat) + " does not carry hold " +
                                 hold_id);
    }
}

// A seat whose hold timed out: its hold is expired, the seat free.
void expire(pqxx::work& txn, const SeatVenue& venue, SeatId seat, const std::string& hold_id) {
    txn.exec_prepared(set_hold_statement.name, hold_id, "expired");
    set_seat(txn, venue, seat, 0, hold_id);
}

struct KnownHold {
    SeatId seat = 0;
    std::string status;
    bool live = false;
};

std::map<std::string, KnownHold> known_holds(pqxx::work& txn, const SeatVenue& venue,
                                             const std::vector<u128>& ids) {
    ArrayLiteral wanted;
    for (u128 id : ids) wanted.add_text(u128_to_decimal(id));
    std::map<std::string, KnownHold> known;
    for (const pqxx::row& row :
         txn.exec_prepared(known_holds_statement.name, wanted.text(), venue.key)) {
        known[row[0].as<std::string>()] =
            KnownHold{row[1].as<SeatId>(), row[2].as<std::string>(), row[3].as<bool>()};
    }
    return known;
}

// Whether the request was made before: every id stored for the same seat. Ids stored for other
// seats, or only some of them, are a caller's bug (TigerBeetle would refuse such a chain as
// existing with other accounts).
bool retried(const std::map<std::string, KnownHold>& known, const SeatHoldRequest& request) {
    if (known.empty()) return false;
    for (std::size_t i = 0; i < request.seats.size(); i++) {
        const auto found = known.find(u128_to_decimal(request.hold_ids[i]));
        if (found == known.end() || found->second.seat != request.seats[i]) {
            throw std::runtime_error("ledger: a seat hold's ids were used before for other seats");
        }
    }
    return true;
}

// What a post (or void) of one seat's hold does, as TigerBeetle answers it.
Resolution resolve_one(pqxx::work& txn, const SeatVenue& venue, SeatId seat, const std::string& id,
                       const std::map<std::string, KnownHold>& known, bool posting) {
    const auto found = known.find(id);
    if (found == known.end() || found->second.seat != seat) return Resolution::not_found;
    const KnownHold& hold = found->second;
    const std::string done_status = posting ? "posted" : "voided";
    if (hold.status == done_status) return Resolution::done;
    if (hold.status == "expired") return Resolution::expired;
    if (hold.status != "pending") return Resolution::conflict;  // Resolved the other way.
    if (!hold.live) {
        expire(txn, venue, seat, id);
        return Resolution::expired;
    }
    txn.exec_prepared(set_hold_statement.name, id, done_status);
    set_seat(txn, venue, seat, posting ? 2 : 0, id);
    return Resolution::done;
}

}  // namespace

SeatVenue seat_venue(const seating::Venue& venue) {
    TF_ASSERT_GE(venue.seat_digest.size(), 16u);
    return SeatVenue{venue.seat_digest.substr(0, 16), venue.seat_count};
}

void prepare_seat_statements(pqxx::connection& connection) {
    tigerfans::postgres::prepare_all(
        connection, {add_seats_statement, taken_statement, lock_statement, known_holds_statement,
                     hold_statement, record_hold_statement, set_seat_statement, set_hold_statement,
                     holds_statement});
}

void create_seats(pqxx::connection& connection, const SeatVenue& venue) {
    pqxx::work txn(connection);
    tigerfans::postgres::apply_schema(
        txn, "seats",
        {SchemaStep::always(create_seats_sql),
         SchemaStep::index("ledger_seats", "ledger_seats_taken", create_taken_index_sql),
         SchemaStep::always(create_seat_holds_sql)});
    txn.exec_prepared(add_seats_statement.name, venue.key,
                      static_cast<std::int64_t>(venue.seat_count));
    txn.commit();
}

seating::SeatStates read_seat_states(pqxx::connection& connection, const SeatVenue& venue) {
    pqxx::read_transaction txn(connection);
    seating::SeatStates states(venue.seat_count);
    for (const pqxx::row& row : txn.exec_prepared(taken_statement.name, venue.key)) {
        const auto seat = row[0].as<SeatId>();
        if (seat >= venue.seat_count) throw std::runtime_error("ledger: a seat beyond the venue");
        const int state = row[1].as<int>();
        const bool live = !row[2].is_null() && row[2].as<bool>();
        if (state == 2) states.set(seat, seating::SeatState::sold);
        if (state == 1 && live) states.set(seat, seating::SeatState::held);
    }
    return states;
}

std::vector<SeatHoldEntry> read_seat_holds(pqxx::connection& connection, const SeatVenue& venue,
                                           u128 order_id) {
    pqxx::read_transaction txn(connection);
    std::vector<SeatHoldEntry> entries;
    const std::string order = order_id == 0 ? std::string() : u128_to_hex(order_id);
    for (const pqxx::row& row : txn.exec_prepared(holds_statement.name, venue.key, order)) {
        SeatHoldEntry entry;
        entry.seat = row[0].as<SeatId>();
        if (entry.seat >= venue.seat_count) {
            throw std::runtime_error("ledger: a seat hold beyond the venue");
        }
        entry.hold_id = tigerfans::postgres::decimal_u128(row[1]);
        const auto hex = row[2].as<std::string>();
        if (!hex.empty()) {
            const std::optional<u128> parsed = u128_from_hex(hex);
            if (!parsed) throw std::runtime_error("ledger: a seat hold's order id is not hex");
            entry.order_id = *parsed;
        }
        entry.state = hold_state(row[3].as<std::string>());
        entry.held_at_us = row[4].as<std::int64_t>();
        entry.resolved_at_us = row[5].is_null() ? 0 : row[5].as<std::int64_t>();
        entries.push_back(entry);
    }
    return entries;
}

SeatHoldResult hold_seats(pqxx::connection& connection, const SeatVenue& venue,
                          const SeatHoldRequest& request) {
    TF_ASSERT(valid_seat_hold(request, venue.seat_count));
    pqxx::work txn(connection);
    const std::map<SeatId, LockedSeat> locked = lock_seats(txn, venue, request.seats);
    if (retried(known_holds(txn, venue, request.hold_ids), request)) {
        return SeatHoldResult{true, {}};
    }
    SeatHoldResult result;
    for (const auto& [seat, row] : locked) {
        if (row.state == 2 || (row.state == 1 && row.live)) result.gone.push_back(seat);
    }
    if (!result.gone.empty()) return result;  // Rolled back: nothing changed.
    const std::string order_id = request.order_id == 0 ? "" : u128_to_hex(request.order_id);
    for (std::size_t i = 0; i < request.seats.size(); i++) {
        const SeatId seat = request.seats[i];
        const LockedSeat& row = locked.at(seat);
        if (row.state == 1) expire(txn, venue, seat, row.hold_id);
        const std::string id = u128_to_decimal(request.hold_ids[i]);
        const auto timeout = static_cast<std::int64_t>(request.timeout_s);
        txn.exec_prepared(hold_statement.name, venue.key, seat, id, timeout);
        txn.exec_prepared(record_hold_statement.name, id, venue.key, seat, timeout, order_id);
    }
    txn.commit();
    result.held = true;
    return result;
}

std::vector<Resolution> resolve_seats(pqxx::connection& connection, const SeatVenue& venue,
                                      const SeatHolds& holds, bool posting) {
    TF_ASSERT(!holds.seats.empty() && holds.seats.size() == holds.hold_ids.size());
    std::vector<SeatId> seats = holds.seats;
    std::sort(seats.begin(), seats.end());
    seats.erase(std::unique(seats.begin(), seats.end()), seats.end());
    for (SeatId seat : seats) TF_ASSERT_LT(seat, venue.seat_count);
    pqxx::work txn(connection);
    lock_seats(txn, venue, seats);
    const std::map<std::string, KnownHold> known = known_holds(txn, venue, holds.hold_ids);
    std::vector<Resolution> resolutions;
    for (std::size_t i = 0; i < holds.seats.size(); i++) {
        const std::string id = u128_to_decimal(holds.hold_ids[i]);
        resolutions.push_back(resolve_one(txn, venue, holds.seats[i], id, known, posting));
    }
    txn.commit();
    return resolutions;
}

}  // namespace tigerfans::accounting::postgres

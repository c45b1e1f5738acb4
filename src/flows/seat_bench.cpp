// The isolated seat calls.
#include "flows/seat_bench.hpp"

#include <memory>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/http/errors.hpp"
#include "tigerfans/http/json_writer.hpp"
#include "tigerfans/seating/seat_list.hpp"

namespace tigerfans::flows {

namespace {
namespace asio = boost::asio;
using http::Request;
using http::Response;
using seating::SeatId;

constexpr std::uint32_t bench_hold_seats = 4;

// Where the next hold starts: the venue's seats in order, a run of 4 at a time.
struct Cursor {
    SeatId next = 0;
};

// The next 4 seats of one row from the cursor on, or nothing when no row has 4.
std::optional<std::vector<SeatId>> next_run(const seating::Venue& venue, Cursor& cursor) {
    for (std::size_t tried = 0; tried <= venue.rows.size(); tried++) {
        if (cursor.next >= venue.seat_count) cursor.next = 0;
        const seating::SeatPlace place = venue.place(cursor.next);
        const seating::Row& row = venue.rows[place.row];
        if (row.seat_count - place.offset >= bench_hold_seats) {
            std::vector<SeatId> seats(bench_hold_seats);
            for (std::uint32_t i = 0; i < bench_hold_seats; i++) seats[i] = cursor.next + i;
            cursor.next += bench_hold_seats;
            return seats;
        }
        cursor.next = row.first_seat + row.seat_count;  // The rest of the row is too short.
    }
    return std::nullopt;
}

asio::awaitable<Response> hold(Services& services, Cursor& cursor) {
    const Seating& seating = *services.seating;
    auto run = next_run(seating.venue, cursor);
    if (!run) co_return http::error_response(409, "sold_out", "no row has 4 seats");
    accounting::SeatHoldRequest request;
    request.seats = std::move(*run);
    for (std::size_t i = 0; i < request.seats.size(); i++) {
        request.hold_ids.push_back(services.ids.next());
    }
    request.timeout_s = services.config.reservation_ttl_s;
    TF_ASSERT(accounting::valid_seat_hold(request, seating.venue.seat_count));
    // Called in a statement of its own: GCC 12 and by-value parameters in co_await (flows/).
    auto operation = seating.ledger.hold_seats(request);
    auto held = co_await timed(services.timings.accounting_hold, std::move(operation));
    if (!held) co_return http::fault_response(held.fault(), "seat hold");
    if (!held->held) co_return http::error_response(409, "seats_taken", "a seat is not free");
    http::JsonObjectWriter body;
    body.string("holds", seating::hold_list_text(request.hold_ids))
        .string("seats", seating::seat_list_text(request.seats));
    co_return Response::json(200, std::move(body).finish());
}

asio::awaitable<Response> release(Services& services, Request& request) {
    const auto seats = seating::parse_seat_list(request.query_param("seats").value_or(""));
    const auto holds = seating::parse_hold_list(request.query_param("holds").value_or(""));
    accounting::SeatHoldRequest shape;
    if (seats && holds) shape = {*seats, *holds, 1, 0};
    if (!accounting::valid_seat_hold(shape, services.seating->venue.seat_count)) {
        co_return http::bad_request("seats and holds must pair up: ascending seats of the venue");
    }
    auto operation = services.seating->ledger.void_seats({*seats, *holds});
    auto voided = co_await timed(services.timings.accounting_cancel, std::move(operation));
    if (!voided) co_return http::fault_response(voided.fault(), "seat void");
    const auto done = std::count(voided->begin(), voided->end(), accounting::Resolution::done);
    http::JsonObjectWriter body;
    body.integer("voided", done);
    co_return Response::json(200, std::move(body).finish());
}
}  // namespace

http::Routes seat_bench_routes(Services& services) {
    if (services.seating == nullptr) return {};
    auto cursor = std::make_shared<Cursor>();
    return {
        {http::Method::get, "/api/accounting/seats/hold",
         [&services, cursor](Request&) { return hold(services, *cursor); }},
        {http::Method::get, "/api/accounting/seats/void",
         [&services](Request& request) { return release(services, request); }},
    };
}

}  // namespace tigerfans::flows

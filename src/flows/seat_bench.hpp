// The isolated seat calls for benchmarks (BENCH_ENDPOINTS=on with a VENUE): hold 4 seats
// together, and free seats held so, without an order, a session or a map search; what `make
// bench` measures as 4-seat holds.
#pragma once

#include "tigerfans/flows/services.hpp"
#include "tigerfans/http/router.hpp"

namespace tigerfans::flows {

// GET /api/accounting/seats/hold: the next 4 seats in venue order (rows of fewer are skipped,
// the venue wraps around), held for the reservation TTL: 200 {"holds","seats"} (comma-joined,
// as sessions keep them), 409 seats_taken when any of them is held or sold.
// GET /api/accounting/seats/void?seats=&holds=: voids such holds: 200 {"voided": n}.
http::Routes seat_bench_routes(Services& services);

}  // namespace tigerfans::flows

// Reserved seats in the ledger (docs/SEATING.md), beside the ticket classes: every seat of the
// venue can be held once and sold once. A hold of several seats is made whole or not at all;
// posting sells a held seat, voiding frees it, and a hold nobody resolves frees its seat when
// its timeout passes. As for classes, the ids of holds are the caller's, and a post or void
// derives its own from them, so a retry meets what the first attempt did.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <vector>

#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/core/result.hpp"
#include "tigerfans/core/u128.hpp"
#include "tigerfans/seating/availability.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::accounting {

using seating::SeatId;

struct SeatHoldRequest {
    std::vector<SeatId> seats;    // Ascending, distinct, 1 to limits::seats_per_order_max.
    std::vector<u128> hold_ids;   // One per seat, in the same order; never 0.
    std::uint32_t timeout_s = 0;  // Above 0: every seat hold expires.
    u128 order_id = 0;
};

// Seats and the ids of their holds, pairwise.
struct SeatHolds {
    std::vector<SeatId> seats;
    std::vector<u128> hold_ids;
};

struct SeatHoldResult {
    bool held = false;
    // When not held: the requested seats that someone else holds or bought, as the ledger saw
    // them just after the refusal (empty if they were freed again in between).
    std::vector<SeatId> gone;
};

// One seat's hold as the ledger keeps it: posted when the seat was sold, and the order the
// hold named (0: none, as for the isolated seat calls of the benchmarks). A hold past its
// timeout is expired, whether or not the ledger has noticed yet.
struct SeatHoldEntry {
    SeatId seat = 0;
    u128 hold_id = 0;
    u128 order_id = 0;
    EntryState state = EntryState::pending;
    std::int64_t held_at_us = 0;      // Unix time, by the ledger's clock.
    std::int64_t resolved_at_us = 0;  // When posted, voided or expired; 0 while pending.
};

class SeatLedger {
public:
    virtual ~SeatLedger() = default;

    // Every seat's state now; a hold past its timeout counts as free.
    virtual asio::awaitable<Result<seating::SeatStates>> seat_states() = 0;

    // All of `request.seats` held, or none.
    virtual asio::awaitable<Result<SeatHoldResult>> hold_seats(SeatHoldRequest request) = 0;

    // Sells (post) or frees (void) each seat's hold: one resolution per seat, in order.
    virtual asio::awaitable<Result<std::vector<Resolution>>> post_seats(SeatHolds holds) = 0;
    virtual asio::awaitable<Result<std::vector<Resolution>>> void_seats(SeatHolds holds) = 0;

    // Every seat hold ever made, in no particular order: what the reconciler matches seat
    // orders with.
    virtual asio::awaitable<Result<std::vector<SeatHoldEntry>>> hold_entries() = 0;
    // The holds that carry `order_id` (not 0): the seats of one order, as hold_entries() tells
    // them, without reading the others. What a payment whose session was lost settles with.
    virtual asio::awaitable<Result<std::vector<SeatHoldEntry>>> hold_entries_of(u128 order_id) = 0;
};

// Checks a hold request's shape (the server's bug, not the fan's, when it fails).
bool valid_seat_hold(const SeatHoldRequest& request, std::uint32_t seat_count);

}  // namespace tigerfans::accounting

// Seats this process asked the ledger to hold since the seat map's snapshot was read. Fans
// searching best-available at once all search the same snapshot; without this they would all
// find the same seats and all but one would lose the race in the ledger. A search marks these
// seats taken in its copy of the snapshot first. Pure: no I/O, no clock; loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <span>

#include "tigerfans/core/u128.hpp"
#include "tigerfans/seating/availability.hpp"

namespace tigerfans::seating {

class RecentHolds {
public:
    // Seats a hold is about to ask for, each under its hold's id (pairwise), at `at_us`: on
    // the seat map's clock (SeatMap::now_us), the one its snapshots' read_at_us are on.
    void add(std::span<const SeatId> seats, std::span<const u128> hold_ids, std::int64_t at_us);

    // Takes back the entries of these holds: a hold the ledger refused, that failed or that was
    // let go before its checkout answered holds none of its seats, and searches that still saw
    // them taken would tell fans "sold out" beside free seats. Another hold's entry for the
    // same seat stays.
    void forget(std::span<const u128> hold_ids);

    // Forgets what a snapshot read from `read_at_us` on already shows, and marks the rest held
    // in `states`, that snapshot's copy.
    void apply(SeatStates& states, std::int64_t read_at_us);

    std::size_t size() const { return seats_.size(); }

    // However stale the map, no more than this many are kept (the oldest go first).
    static constexpr std::size_t seats_max = 65'536;
    // How long before a snapshot's read a hold counts as possibly unseen by it (a hold takes a
    // few milliseconds; a seat freed meanwhile is hidden from searches that long at most).
    static constexpr std::int64_t in_flight_grace_us = 100'000;

private:
    struct Entry {
        SeatId seat;
        std::int64_t at_us;
        u128 hold_id;
    };
    std::deque<Entry> seats_;  // Oldest first.
};

}  // namespace tigerfans::seating

// Seats held since the snapshot.
#include "tigerfans/seating/recent_holds.hpp"

#include <algorithm>
#include <iterator>

namespace tigerfans::seating {

void RecentHolds::add(std::span<const SeatId> seats, std::int64_t at_us) {
    for (SeatId seat : seats) seats_.push_back({seat, at_us});
    while (seats_.size() > seats_max) seats_.pop_front();
}

void RecentHolds::forget(std::span<const SeatId> seats) {
    for (SeatId seat : seats) {
        auto latest = std::find_if(seats_.rbegin(), seats_.rend(),
                                   [seat](const Entry& entry) { return entry.seat == seat; });
        if (latest != seats_.rend()) seats_.erase(std::next(latest).base());
    }
}

void RecentHolds::apply(SeatStates& states, std::int64_t read_at_us) {
    // A hold asked for shortly before the read started may still have been in flight when the
    // read passed its seats: such entries stay a while longer, until a later snapshot.
    while (!seats_.empty() && seats_.front().at_us < read_at_us - in_flight_grace_us) {
        seats_.pop_front();
    }
    for (const Entry& entry : seats_) {
        if (entry.seat < states.seat_count() && states.get(entry.seat) == SeatState::free) {
            states.set(entry.seat, SeatState::held);
        }
    }
}

}  // namespace tigerfans::seating

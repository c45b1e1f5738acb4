// Seats held since the snapshot.
#include "tigerfans/seating/recent_holds.hpp"

#include <algorithm>
#include <iterator>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::seating {

void RecentHolds::add(std::span<const SeatId> seats, std::span<const u128> hold_ids,
                      std::int64_t at_us) {
    TF_ASSERT_EQ(seats.size(), hold_ids.size());
    for (std::size_t i = 0; i < seats.size(); i++) seats_.push_back({seats[i], at_us, hold_ids[i]});
    while (seats_.size() > seats_max) seats_.pop_front();
}

// Newest first: a hold taken back is usually one of the last added.
void RecentHolds::forget(std::span<const u128> hold_ids) {
    for (const u128 id : hold_ids) {
        auto entry = std::find_if(seats_.rbegin(), seats_.rend(),
                                  [id](const Entry& added) { return added.hold_id == id; });
        if (entry != seats_.rend()) seats_.erase(std::next(entry).base());
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

// Small helpers shared by every ledger backend.
#include "tigerfans/accounting/ledger.hpp"

#include "tigerfans/accounting/seat_ledger.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::accounting {

std::uint64_t Capacities::of(Resource resource) const {
    switch (resource) {
        case Resource::class_a: return class_a;
        case Resource::class_b: return class_b;
        case Resource::goodies: return goodies;
    }
    return 0;
}

const Balance& Inventory::of(Resource resource) const {
    switch (resource) {
        case Resource::class_a: return class_a;
        case Resource::class_b: return class_b;
        case Resource::goodies: return goodies;
    }
    return goodies;
}

std::string_view entry_state_name(EntryState state) {
    switch (state) {
        case EntryState::pending: return "pending";
        case EntryState::posted: return "posted";
        case EntryState::voided: return "voided";
        case EntryState::expired: return "expired";
    }
    return "unknown";
}

bool valid_seat_hold(const SeatHoldRequest& request, std::uint32_t seat_count) {
    const std::size_t count = request.seats.size();
    if (count == 0 || count > limits::seats_per_order_max) return false;
    if (request.timeout_s == 0) return false;  // TigerBeetle would read 0 as "never expires".
    if (request.hold_ids.size() != count) return false;
    for (std::size_t i = 0; i < count; i++) {
        if (request.seats[i] >= seat_count || request.hold_ids[i] == 0) return false;
        if (i > 0 && request.seats[i] <= request.seats[i - 1]) return false;
    }
    return true;
}

}  // namespace tigerfans::accounting

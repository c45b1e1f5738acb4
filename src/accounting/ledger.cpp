// Small helpers shared by every ledger backend.
#include "tigerfans/accounting/ledger.hpp"

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

}  // namespace tigerfans::accounting

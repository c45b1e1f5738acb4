// Which lane a submission joins.
#include "postgres/batcher_lanes.hpp"

namespace tigerfans::postgres {

std::size_t choose_lane(std::span<const LaneLoad> lanes) {
    TF_ASSERT(!lanes.empty());
    std::size_t chosen = 0;
    for (std::size_t i = 0; i < lanes.size(); i++) {
        if (!lanes[i].in_flight) return i;
        if (lanes[i].queued_items < lanes[chosen].queued_items) chosen = i;
    }
    return chosen;
}

}  // namespace tigerfans::postgres

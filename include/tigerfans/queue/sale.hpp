// The sale's timeline: the pre-queue opens PREQUEUE_MINUTES before the sale, and the sale opens
// at SALE_OPENS_AT (or when the server starts). A join's phase decides how it is queued: a
// pre-queue join is raffled, a later one is queued first come, first served
// (docs/ARCHITECTURE.md §3, waiting room).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "tigerfans/config/config.hpp"

namespace tigerfans::queue {

enum class Phase : std::uint8_t {
    not_open,  // Before the pre-queue: joins are refused.
    prequeue,  // Joins get a raffled place when the sale opens.
    sale,      // Joins are queued behind every pre-queue entry, in the order they come.
};

std::string_view phase_name(Phase phase);  // "not_open", "prequeue", "sale"

struct SaleTimeline {
    std::int64_t prequeue_opens_us = 0;
    std::int64_t sale_opens_us = 0;  // Never before prequeue_opens_us.

    // The phase a join at `t_us` falls in: the pre-queue from its opening (inclusive) to the
    // sale's opening (exclusive), the sale from then on.
    Phase phase_at(std::int64_t t_us) const;
};

// The timeline of a sale opening at `sale_opens_us` (or at `start_us`, the server's start, when
// unset) with a pre-queue of `prequeue_minutes` before it.
SaleTimeline sale_timeline(std::optional<std::int64_t> sale_opens_us,
                           std::uint32_t prequeue_minutes, std::int64_t start_us);
SaleTimeline sale_timeline(const config::Config& config, std::int64_t start_us);

}  // namespace tigerfans::queue

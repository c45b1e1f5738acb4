// The sale's timeline and the phase of a join.
#include "tigerfans/queue/sale.hpp"

#include "tigerfans/core/assert.hpp"

namespace tigerfans::queue {

std::string_view phase_name(Phase phase) {
    switch (phase) {
        case Phase::not_open: return "not_open";
        case Phase::prequeue: return "prequeue";
        case Phase::sale: return "sale";
    }
    return "?";
}

Phase SaleTimeline::phase_at(std::int64_t t_us) const {
    TF_ASSERT(prequeue_opens_us <= sale_opens_us);
    if (t_us < prequeue_opens_us) return Phase::not_open;
    return t_us < sale_opens_us ? Phase::prequeue : Phase::sale;
}

SaleTimeline sale_timeline(std::optional<std::int64_t> sale_opens_us,
                           std::uint32_t prequeue_minutes, std::int64_t start_us) {
    constexpr std::int64_t minute_us = 60'000'000;
    const std::int64_t opens_us = sale_opens_us.value_or(start_us);
    return SaleTimeline{opens_us - static_cast<std::int64_t>(prequeue_minutes) * minute_us,
                        opens_us};
}

SaleTimeline sale_timeline(const config::Config& config, std::int64_t start_us) {
    return sale_timeline(config.sale_opens_at_us, config.prequeue_minutes, start_us);
}

}  // namespace tigerfans::queue

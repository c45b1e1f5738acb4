// BatchLimit: learning the cluster's events-per-request limit from TOO_MUCH_DATA refusals.
#include "accounting/tigerbeetle/batcher.hpp"

namespace tigerfans::accounting::tb {

BatchLimit::BatchLimit(std::uint32_t configured_events_max)
    : configured_(configured_events_max), refused_(configured_events_max + 1) {
    TF_ASSERT_GT(configured_, 0u);
}

std::uint32_t BatchLimit::events_max() const {
    if (refused_ > configured_) return configured_;                   // Never refused.
    if (fits_ == 0) return std::max<std::uint32_t>(1, refused_ / 2);  // Halve until one fits.
    const std::uint32_t next = fits_ + (refused_ - fits_) / 2;        // Bisect.
    TF_ASSERT_GE(next, fits_);
    TF_ASSERT_LT(next, refused_);
    return next;
}

void BatchLimit::on_accepted(std::uint32_t events) {
    TF_ASSERT_GT(events, 0u);
    // The limit grew (a re-created client on a reconfigured cluster): forget the refusal.
    if (events >= refused_) refused_ = configured_ + 1;
    fits_ = std::max(fits_, events);
}

bool BatchLimit::on_too_much_data(std::uint32_t events) {
    TF_ASSERT_GT(events, 0u);
    if (events <= fits_) fits_ = 0;  // The limit shrank: start learning again.
    refused_ = std::min(refused_, events);
    return events > 1;
}

}  // namespace tigerfans::accounting::tb

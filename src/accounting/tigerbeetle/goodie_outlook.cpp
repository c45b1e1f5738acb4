// The goodie outlook's transitions (see goodie_outlook.hpp).
#include "accounting/tigerbeetle/goodie_outlook.hpp"

#include "tigerfans/core/assert.hpp"

namespace tigerfans::accounting::tb {

GoodieOutlook::GoodieOutlook(Clock::duration retry_interval) : retry_interval_(retry_interval) {
    TF_ASSERT(retry_interval_ > Clock::duration::zero());
}

bool GoodieOutlook::should_try(Clock::time_point now) {
    if (!gone_) return true;
    if (now - last_try_ < retry_interval_) return false;
    last_try_ = now;
    return true;
}

void GoodieOutlook::on_refused(Clock::time_point now) {
    // A refusal while they already look gone (another retry's, or a late answer) keeps the
    // interval running from the last retry, so retries stay one per interval.
    if (gone_) return;
    gone_ = true;
    last_try_ = now;
}

void GoodieOutlook::on_maybe_left() { gone_ = false; }

void GoodieOutlook::on_balance(std::uint64_t available, Clock::time_point now) {
    if (available > 0) {
        on_maybe_left();
    } else {
        on_refused(now);
    }
}

}  // namespace tigerfans::accounting::tb

// The admission pacer: an exact accrual of admissions over time.
#include "tigerfans/queue/pacer.hpp"

#include <algorithm>
#include <limits>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::queue {

namespace {
constexpr std::uint64_t unit = 1'000'000;  // Millionths of an admission in one admission.
}

AdmissionPacer::AdmissionPacer(std::uint32_t per_second, std::uint64_t holds_ceiling,
                               std::int64_t start_us)
    : per_second_(per_second), holds_ceiling_(holds_ceiling), last_us_(start_us) {
    TF_ASSERT(per_second >= 1);
}

bool AdmissionPacer::at_ceiling(std::uint64_t active_holds) const {
    return holds_ceiling_ > 0 && active_holds >= holds_ceiling_;
}

std::uint64_t AdmissionPacer::room(std::uint64_t active_holds) const {
    if (holds_ceiling_ == 0) return std::numeric_limits<std::uint64_t>::max();
    return holds_ceiling_ - active_holds;
}

std::uint64_t AdmissionPacer::step(std::int64_t now_us, bool paused, std::uint64_t active_holds,
                                   std::uint64_t most) {
    const std::int64_t elapsed_us = std::clamp<std::int64_t>(now_us - last_us_, 0, catch_up_max_us);
    last_us_ = now_us;  // After a jump back, time runs on from the new reading.
    if (paused || at_ceiling(active_holds)) {
        credit_ %= unit;  // Whole admissions carried are dropped too: no burst on resuming.
        return 0;
    }
    credit_ += per_second_ * static_cast<std::uint64_t>(elapsed_us);
    const std::uint64_t allowed = std::min(credit_ / unit, room(active_holds));
    const std::uint64_t admitted = std::min(allowed, most);
    // The fraction stays, and what `most` held back; whole admissions beyond the room are
    // dropped. What is carried never exceeds a catch-up's worth, so a loop that keeps falling
    // behind does not pile up a burst.
    credit_ = credit_ % unit + (allowed - admitted) * unit;
    credit_ = std::min(credit_, per_second_ * static_cast<std::uint64_t>(catch_up_max_us));
    return admitted;
}

void AdmissionPacer::set_rate(std::uint32_t per_second) {
    TF_ASSERT(per_second >= 1);
    per_second_ = per_second;
}

}  // namespace tigerfans::queue

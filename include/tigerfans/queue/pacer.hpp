// Admission pacing: how many queue entries one admission step admits. Admissions accrue at
// ADMIT_PER_SECOND over the time between steps, counted in millionths of an admission per
// microsecond, so nothing is lost to rounding: without pauses, the entries admitted by a time
// T seconds after the start are rate * T rounded down, whatever the steps' spacing. Time that
// passes while admission is paused or while the active holds are at the ceiling accrues
// nothing, and whole admissions the ceiling holds back are dropped, not saved up: admission
// resumes at its rate, never with a burst. A gap longer than catch_up_max_us between two steps
// (a stalled loop) accrues only that much. A step admits at most `most`; what that holds back
// waits for the next steps (up to catch_up_max_us' worth), so a step that came late, when the
// rate is near the most a step takes, is made up by the next.
#pragma once

#include <cstdint>
#include <limits>

namespace tigerfans::queue {

inline constexpr std::int64_t catch_up_max_us = 2'000'000;

class AdmissionPacer {
public:
    // `per_second` at least 1; `holds_ceiling` 0 for none. Accrual starts at `start_us`.
    AdmissionPacer(std::uint32_t per_second, std::uint64_t holds_ceiling, std::int64_t start_us);

    // The entries to admit at `now_us`, given whether admission is `paused` and how many
    // tickets are held now: at most `most`, and with a ceiling, never more than it leaves room
    // for. A clock that goes back accrues nothing for that step, and time runs on from its new
    // reading (a wall clock set back does not stop admission for as long as it was set back).
    std::uint64_t step(std::int64_t now_us, bool paused, std::uint64_t active_holds,
                       std::uint64_t most = std::numeric_limits<std::uint64_t>::max());

    // From the next step on, time accrues at `per_second` (at least 1); what accrued before
    // is kept.
    void set_rate(std::uint32_t per_second);
    std::uint32_t per_second() const { return static_cast<std::uint32_t>(per_second_); }

private:
    bool at_ceiling(std::uint64_t active_holds) const;
    std::uint64_t room(std::uint64_t active_holds) const;

    std::uint64_t per_second_;
    std::uint64_t holds_ceiling_;
    std::int64_t last_us_;
    std::uint64_t credit_ = 0;  // Millionths of an admission accrued and not yet admitted.
};

}  // namespace tigerfans::queue

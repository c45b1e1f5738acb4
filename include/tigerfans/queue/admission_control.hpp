// What an operator sees of admission and may change while the server runs: pause and resume
// it, change its rate. The waiting room implements it; the admin area and its live view use
// it. Loop thread only.
#pragma once

#include <cstdint>

namespace tigerfans::queue {

struct AdmissionState {
    bool enabled = false;          // WAITING_ROOM=on.
    bool paused = false;           // By an operator.
    std::uint32_t per_second = 0;  // The target rate (ADMIT_PER_SECOND until changed).
    std::uint64_t waiting = 0;     // Entries in the queue, as of the last admission step.
    std::uint64_t admitted = 0;    // Admissions so far, as of the last admission step.
};

class AdmissionControl {
public:
    virtual ~AdmissionControl() = default;

    virtual AdmissionState state() const = 0;
    virtual void set_paused(bool paused) = 0;
    // `per_second` from 1 to limits::admit_per_second_max; the next step admits at the new rate.
    virtual void set_rate(std::uint32_t per_second) = 0;
};

}  // namespace tigerfans::queue

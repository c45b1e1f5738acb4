// The admission control of a server with the waiting room off (WAITING_ROOM=off): it keeps
// the operator's pause and rate, starting from ADMIT_PER_SECOND, and shows them as not in
// effect; nothing waits and nothing is admitted. With the waiting room on, the app hands the
// admin area flows::WaitingRoom instead.
#pragma once

#include "tigerfans/config/config.hpp"
#include "tigerfans/queue/admission_control.hpp"

namespace tigerfans::app {

class StaticAdmission final : public queue::AdmissionControl {
public:
    explicit StaticAdmission(const config::Config& config) {
        state_.enabled = config.waiting_room;
        state_.per_second = config.admit_per_second;
    }

    queue::AdmissionState state() const override { return state_; }
    void set_paused(bool paused) override { state_.paused = paused; }
    void set_rate(std::uint32_t per_second) override { state_.per_second = per_second; }

private:
    queue::AdmissionState state_;
};

}  // namespace tigerfans::app

// What the ledger believes about the goodies between the cluster's answers, so that a hold
// does not spend a transfer on a goodie the cluster is sure to refuse. The cluster stays the
// judge: every goodie hold that is tried is checked against the goodies' Budget account, so a
// wrong "left" costs one refused transfer and a wrong "gone" never oversells. Goodies come back
// when holds are voided or expire. A void this ledger made, a goodie hold taken or a post that
// found its hold expired marks them possibly left at once; expiries the cluster applies by
// itself, so while the goodies look gone one hold per retry interval still asks for one and
// learns whether any came back. A wrong "gone" costs fans at most one interval's goodies.
// Loop thread only; the caller passes the time, so tests choose it.
#pragma once

#include <chrono>
#include <cstdint>

namespace tigerfans::accounting::tb {

class GoodieOutlook {
public:
    using Clock = std::chrono::steady_clock;

    explicit GoodieOutlook(Clock::duration retry_interval);

    // Whether a hold made at `now` asks for a goodie. While the goodies look gone, the first
    // call of each interval says yes (the retry) and starts the next interval.
    bool should_try(Clock::time_point now);

    // The cluster refused a goodie debit for lack of balance at `now`.
    void on_refused(Clock::time_point now);

    // A goodie hold was taken or given back (voided, or found expired): some may be left.
    void on_maybe_left();

    // A balance read at `now` (the inventory): `available` goodies neither sold nor held.
    void on_balance(std::uint64_t available, Clock::time_point now);

    bool looks_gone() const { return gone_; }

private:
    Clock::duration retry_interval_;
    bool gone_ = false;
    Clock::time_point last_try_{};  // When the goodies last looked gone or were last retried.
};

}  // namespace tigerfans::accounting::tb

// The pure parts of the load client's queue mode: Kendall's tau-b between two orders, the
// admission rate a run achieved, when to poll a waiting fan again, and the schedule of polls.
// No I/O; the unit tests check each.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <queue>
#include <span>
#include <utility>
#include <vector>

namespace tigerfans::loadgen {

// Kendall's tau-b of the pairs (x[i], y[i]) in O(n log n) (Knight's method: sort by x, then
// count the swaps a merge sort by y makes), ties in either variable accounted for: 1 when y
// ranks the pairs as x does, -1 when it reverses them, near 0 when the two are unrelated.
// nullopt when x and y differ in length, when there are fewer than two pairs, or when either
// variable is constant (the denominator is 0).
std::optional<double> kendall_tau_b(std::span<const std::int64_t> x,
                                    std::span<const std::int64_t> y);

// Admissions a second over a run, the stamps being Unix milliseconds in any order. The server
// admits in steps, each step's entries sharing one stamp, and a step's admissions accrued
// since the step before it: so the rate is the admissions stamped after the first stamp and up
// to the second-to-last one, over the time between those two. The first step's (which accrued
// before the first stamp) and the last step's (which may have found the queue nearly empty)
// are left out, either of which would bias the rate by up to a step's worth. Where every
// admission has a stamp of its own this is (admissions - 2) / (the span without the last gap).
// With two distinct stamps only, the last step's admissions over the span between them.
// nullopt without two distinct stamps.
std::optional<double> admission_rate_per_s(std::span<const std::int64_t> admitted_at_ms);

// When to ask a waiting fan again: when the entries ahead of it should have been admitted at
// `per_second`, plus one admission step, so that most fans are polled once more only, when
// they are already admitted. `position` 1 is the next one admitted. Without a known rate (0 or
// less), `fallback`.
std::chrono::microseconds poll_delay(std::int64_t position, double per_second,
                                     std::chrono::microseconds fallback);

// Fans waiting to be polled, earliest due first (ties in the order they were added).
class PollSchedule {
public:
    using Clock = std::chrono::steady_clock;

    void add(int fan, Clock::time_point due);
    // The earliest fan due at `now`, taken off the schedule; nullopt when none is due yet.
    std::optional<int> take_due(Clock::time_point now);
    // When the earliest fan is due; nullopt when the schedule is empty.
    std::optional<Clock::time_point> next_due() const;
    std::size_t size() const { return heap_.size(); }

private:
    struct Item {
        Clock::time_point due;
        std::uint64_t order;
        int fan;
        bool operator>(const Item& other) const {
            return std::pair(due, order) > std::pair(other.due, other.order);
        }
    };
    std::priority_queue<Item, std::vector<Item>, std::greater<>> heap_;
    std::uint64_t added_ = 0;
};

}  // namespace tigerfans::loadgen

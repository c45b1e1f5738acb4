// Kendall's tau-b, the achieved admission rate and the poll schedule (see queue_stats.hpp).
#include "load/queue_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tigerfans/core/limits.hpp"

namespace tigerfans::loadgen {

namespace {

// Pairs among runs of equal values in a sorted sequence: the sum of t (t - 1) / 2 over runs
// of length t, with `same(i, j)` telling whether positions i and j hold equal values.
template <typename Same>
std::int64_t tied_pairs(std::size_t n, const Same& same) {
    std::int64_t pairs = 0;
    std::size_t run = 1;
    for (std::size_t i = 1; i <= n; i++) {
        if (i < n && same(i - 1, i)) {
            run++;
            continue;
        }
        pairs += static_cast<std::int64_t>(run) * static_cast<std::int64_t>(run - 1) / 2;
        run = 1;
    }
    return pairs;
}

// Sorts `order` by y (stable) with a bottom-up merge sort and returns how many pairs it found
// out of order: pairs (i before j) with y[i] > y[j], ties not counted.
std::int64_t merge_sort_swaps(std::vector<std::size_t>& order, std::span<const std::int64_t> y) {
    const std::size_t n = order.size();
    std::vector<std::size_t> scratch(n);
    std::int64_t swaps = 0;
    for (std::size_t width = 1; width < n; width *= 2) {
        for (std::size_t low = 0; low < n; low += 2 * width) {
            const std::size_t middle = std::min(low + width, n);
            const std::size_t high = std::min(low + 2 * width, n);
            std::size_t left = low;
            std::size_t right = middle;
            std::size_t out = low;
            while (left < middle && right < high) {
                if (y[order[right]] < y[order[left]]) {
                    swaps += static_cast<std::int64_t>(middle - left);
                    scratch[out++] = order[right++];
                } else {
                    scratch[out++] = order[left++];
                }
            }
            while (left < middle) scratch[out++] = order[left++];
            while (right < high) scratch[out++] = order[right++];
        }
        order.swap(scratch);
    }
    return swaps;
}

}  // namespace

std::optional<double> kendall_tau_b(std::span<const std::int64_t> x,
                                    std::span<const std::int64_t> y) {
    const std::size_t n = x.size();
    if (n != y.size() || n < 2) return std::nullopt;
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::pair(x[a], y[a]) < std::pair(x[b], y[b]);
    });
    const std::int64_t x_ties =
        tied_pairs(n, [&](std::size_t i, std::size_t j) { return x[order[i]] == x[order[j]]; });
    const std::int64_t joint_ties = tied_pairs(n, [&](std::size_t i, std::size_t j) {
        return x[order[i]] == x[order[j]] && y[order[i]] == y[order[j]];
    });
    // Pairs tied in x are sorted by y already, so the merge counts only pairs x orders one way
    // and y the other: the discordant pairs.
    const std::int64_t discordant = merge_sort_swaps(order, y);
    const std::int64_t y_ties =
        tied_pairs(n, [&](std::size_t i, std::size_t j) { return y[order[i]] == y[order[j]]; });
    const auto pairs = static_cast<std::int64_t>(n) * static_cast<std::int64_t>(n - 1) / 2;
    // Concordant minus discordant, the pairs tied in x or in y counted in neither.
    const std::int64_t score = pairs - x_ties - y_ties + joint_ties - 2 * discordant;
    const double denominator = std::sqrt(static_cast<double>(pairs - x_ties)) *
                               std::sqrt(static_cast<double>(pairs - y_ties));
    if (denominator == 0) return std::nullopt;
    // The two square roots may round the quotient just past +-1.
    return std::clamp(static_cast<double>(score) / denominator, -1.0, 1.0);
}

std::optional<double> admission_rate_per_s(std::span<const std::int64_t> admitted_at_ms) {
    if (admitted_at_ms.size() < 2) return std::nullopt;
    const auto [first_at, last_at] =
        std::minmax_element(admitted_at_ms.begin(), admitted_at_ms.end());
    const std::int64_t first = *first_at;
    const std::int64_t last = *last_at;
    if (last == first) return std::nullopt;
    // The last stamp before the last one: the end of the last step that surely ran full.
    std::int64_t before_last = first;
    for (const std::int64_t at : admitted_at_ms) {
        if (at < last) before_last = std::max(before_last, at);
    }
    auto count_between = [&](std::int64_t low, std::int64_t high) {
        return std::count_if(admitted_at_ms.begin(), admitted_at_ms.end(),
                             [&](std::int64_t at) { return at > low && at <= high; });
    };
    if (before_last == first) {  // Two stamps only: the last step counts.
        return static_cast<double>(count_between(first, last)) * 1000.0 /
               static_cast<double>(last - first);
    }
    return static_cast<double>(count_between(first, before_last)) * 1000.0 /
           static_cast<double>(before_last - first);
}

std::chrono::microseconds poll_delay(std::int64_t position, double per_second,
                                     std::chrono::microseconds fallback) {
    constexpr std::chrono::microseconds admission_step =
        std::chrono::milliseconds(limits::admission_step_ms);
    if (per_second <= 0) return fallback;
    const double ahead_s = static_cast<double>(std::max<std::int64_t>(position, 1)) / per_second;
    return std::chrono::microseconds(std::llround(ahead_s * 1e6)) + admission_step;
}

void PollSchedule::add(int fan, Clock::time_point due) { heap_.push({due, added_++, fan}); }

std::optional<int> PollSchedule::take_due(Clock::time_point now) {
    if (heap_.empty() || heap_.top().due > now) return std::nullopt;
    const int fan = heap_.top().fan;
    heap_.pop();
    return fan;
}

std::optional<PollSchedule::Clock::time_point> PollSchedule::next_due() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.top().due;
}

}  // namespace tigerfans::loadgen

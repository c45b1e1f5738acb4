// Crash points: a table of armed counts, read on every pass only when something is armed.
#include "tigerfans/core/crash_points.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::crash {

namespace {

struct Armed {
    std::atomic<long> remaining{0};  // Passes left before the crash; 0: disarmed.
};

std::array<Armed, point_names.size()> armed_points;
std::atomic<bool> any_armed{false};

std::optional<std::size_t> index_of(std::string_view name) {
    const auto found = std::find(point_names.begin(), point_names.end(), name);
    if (found == point_names.end()) return std::nullopt;
    return static_cast<std::size_t>(found - point_names.begin());
}

std::optional<std::string> arm_one(std::string_view item) {
    const std::size_t colon = item.rfind(':');
    const std::string_view name = item.substr(0, colon);
    const std::optional<std::size_t> index = index_of(name);
    if (colon == std::string_view::npos || !index) {
        return "unknown crash point '" + std::string(item) + "' (want name:count)";
    }
    long count = 0;
    const std::string_view digits = item.substr(colon + 1);
    const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size() || count < 1) {
        return "crash point " + std::string(name) + " needs a count of at least 1";
    }
    armed_points[*index].remaining.store(count);
    any_armed.store(true);
    return std::nullopt;
}

}  // namespace

std::optional<std::string> arm(std::string_view spec) {
    for (Armed& point : armed_points) point.remaining.store(0);
    any_armed.store(false);
    while (!spec.empty()) {
        const std::size_t comma = std::min(spec.find(','), spec.size());
        if (auto error = arm_one(spec.substr(0, comma))) return error;
        spec.remove_prefix(std::min(comma + 1, spec.size()));
    }
    return std::nullopt;
}

void point(std::string_view name) {
    if (!any_armed.load(std::memory_order_relaxed)) return;
    const std::optional<std::size_t> index = index_of(name);
    TF_ASSERT_MSG(index, "crash::point(\"", name, "\") names no entry of point_names");
    if (!index) return;
    if (armed_points[*index].remaining.fetch_sub(1) == 1) {
        static constexpr char message[] = "tigerfans: crash point reached, dying as kill -9\n";
        [[maybe_unused]] const ssize_t written = write(2, message, sizeof(message) - 1);
        kill(getpid(), SIGKILL);
    }
}

}  // namespace tigerfans::crash

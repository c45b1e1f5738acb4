// Rate limiting for repeated log lines: a Redis outage or a stream of malformed replies must not
// flood the log at the rate of reconnects or requests. The first line of a burst is written;
// the next ones within the interval are only counted, and the count rides on the next line.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

namespace tigerfans::sessions::redis {

class LogLimiter {
public:
    explicit LogLimiter(std::chrono::milliseconds interval) : interval_(interval) {}

    // How many lines were suppressed since the last written one, when this one may be written.
    std::optional<std::uint64_t> admit() {
        const auto now = std::chrono::steady_clock::now();
        if (now < next_) {
            suppressed_++;
            return std::nullopt;
        }
        next_ = now + interval_;
        return std::exchange(suppressed_, 0);
    }

private:
    std::chrono::milliseconds interval_;
    std::chrono::steady_clock::time_point next_{};
    std::uint64_t suppressed_ = 0;
};

}  // namespace tigerfans::sessions::redis

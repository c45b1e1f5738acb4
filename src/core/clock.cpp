// Time helpers: one clock for the whole process, one textual form on the wire.
#include "tigerfans/core/clock.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace tigerfans {

std::int64_t unix_now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t steady_now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string iso8601_utc(std::int64_t unix_us) {
    const std::int64_t micros_per_second = 1'000'000;
    std::int64_t seconds = unix_us / micros_per_second;
    std::int64_t micros = unix_us % micros_per_second;
    if (micros < 0) {
        micros += micros_per_second;
        seconds -= 1;
    }
    const std::time_t time = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&time, &tm);
    char text[64];
    std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%06lld+00:00",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(micros));
    return text;
}

std::optional<std::int64_t> parse_iso8601_utc(std::string_view text) {
    std::tm tm{};
    int consumed = 0;
    const std::string copy(text);
    if (std::sscanf(copy.c_str(), "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    std::int64_t micros = 0;
    std::size_t at = static_cast<std::size_t>(consumed);
    if (at < copy.size() && copy[at] == '.') {
        std::int64_t scale = 100'000;
        for (at++; at < copy.size() && copy[at] >= '0' && copy[at] <= '9'; at++) {
            micros += (copy[at] - '0') * scale;
            scale /= 10;
        }
    }
    const std::string_view zone = std::string_view(copy).substr(at);
    if (!(zone.empty() || zone == "Z" || zone == "+00" || zone == "+00:00")) return std::nullopt;
    return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000 + micros;
}

}  // namespace tigerfans

// Wall-clock time as the stores and the JSON contract see it: microseconds since the Unix
// epoch, rendered as ISO-8601 UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tigerfans {

std::int64_t unix_now_us();
// Microseconds on a clock that is never set or stepped (CLOCK_MONOTONIC, from an arbitrary
// start): for ages and intervals inside the process, never for the wire or a store.
std::int64_t steady_now_us();
inline double unix_seconds(std::int64_t unix_us) { return static_cast<double>(unix_us) / 1e6; }

// "2025-12-03T10:15:30.123456+00:00" (the form Python's isoformat() gives for UTC).
std::string iso8601_utc(std::int64_t unix_us);
// Parses what iso8601_utc writes and PostgreSQL's "2025-12-03 10:15:30.123456+00".
std::optional<std::int64_t> parse_iso8601_utc(std::string_view text);

}  // namespace tigerfans

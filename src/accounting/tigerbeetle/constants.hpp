// The TigerBeetle backend's own limits and timings, each with its unit in its name. The batch
// limit itself (tb_batch_events_max) lives with the server's other limits in core/limits.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tigerfans::accounting::tb {

// Requests one client may have submitted at once (transfer batches, lookups, health probes).
// Each owns a pooled packet and buffers; beyond this, callers get `overloaded`.
inline constexpr std::size_t packets_in_flight_max = 64;

// After an eviction the client is re-created after a delay that doubles with every eviction
// in a row (reset by a successful request): a cluster that keeps evicting us (release too high)
// costs one init per delay, not one per request. Each eviction also leaks the evicted client's
// IO thread inside libtb_client 0.17.8 (nothing joins it), another reason to back off.
inline constexpr std::uint32_t client_reopen_delay_min_ms = 1'000;
inline constexpr std::uint32_t client_reopen_delay_max_ms = 60'000;

// The cluster never times requests out (the client retries forever); these bound our waits.
inline constexpr std::uint32_t start_timeout_ms = 15'000;
inline constexpr std::uint32_t health_probe_timeout_ms = 1'000;
// A completed request this recent proves the cluster healthy without probing it.
inline constexpr std::uint32_t health_fresh_ms = 1'000;

// The library's log lines are at most 8 KiB; ours are cut shorter.
inline constexpr std::size_t log_message_bytes_max = 1'024;

}  // namespace tigerfans::accounting::tb

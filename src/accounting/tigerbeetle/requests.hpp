// One request to the cluster as the rest of this folder sees it: timed and counted in the
// metrics, with the packet's failure statuses mapped to faults, and typed helpers for the
// requests that bypass the transfer batcher (account creation at start-up, account lookups),
// and the check of create results against what each caller expects.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "accounting/tigerbeetle/abi.hpp"
#include "accounting/tigerbeetle/client.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/result.hpp"
#include "tigerfans/core/ticket.hpp"
#include "tigerfans/metrics/metrics.hpp"

namespace tigerfans::accounting::tb {

// Per operation: events per request and request latency. Null histograms record nothing.
// Passed by value: coroutine parameters that are references can outlive a temporary.
struct RequestMetrics {
    metrics::Histogram* batch_events = nullptr;
    metrics::Histogram* request_seconds = nullptr;

    // tigerfans_tb_batch_events and tigerfans_tb_request_seconds, labelled by operation.
    static RequestMetrics in(metrics::Registry& registry, std::string_view operation);
};

// Evicted, release too low/high and shutdown: unavailable (503). Invalid operation or data
// size: internal, since they are bugs. Not for ok or too_much_data, which callers handle.
Fault fault_of(abi::PacketStatus status);

asio::awaitable<Result<abi::PacketStatus>> timed_request(
    PacketSubmitter& submitter, RequestMetrics metrics, abi::Operation operation,
    std::span<const std::byte> events, std::size_t event_count, std::vector<std::byte>& results);

// One status per account, in order.
asio::awaitable<Result<std::vector<abi::CreateResult>>> create_accounts(
    PacketSubmitter& submitter, RequestMetrics metrics, std::span<const abi::Account> accounts);

// The accounts that exist, in request order; missing ids are left out (match by id).
asio::awaitable<Result<std::vector<abi::Account>>> lookup_accounts(PacketSubmitter& submitter,
                                                                   RequestMetrics metrics,
                                                                   std::span<const u128> ids);

// Every transfer on one side of `account` (`side`: abi::account_filter_flags::debits or
// credits) from `timestamp_min` on, oldest first, in pages of at most abi::request_events_max
// until an empty one, or until a page takes the count past `count_max` (the caller, finding
// more than it wanted, gives up on them; no page asks for more than that takes).
asio::awaitable<Result<std::vector<abi::Transfer>>> all_account_transfers(
    PacketSubmitter& submitter, RequestMetrics metrics, u128 account, std::uint32_t side,
    std::uint64_t timestamp_min = 0, std::size_t count_max = SIZE_MAX);

// The transfers on one side of `account` that carry `user_data_128` (not 0), oldest first: a
// few (an order's hold, its post or void, a late booking), in one page.
asio::awaitable<Result<std::vector<abi::Transfer>>> account_transfers_carrying(
    PacketSubmitter& submitter, RequestMetrics metrics, u128 account, std::uint32_t side,
    u128 user_data_128);

// The timestamp of the newest transfer on one side of `account`; 0 when it has none.
asio::awaitable<Result<std::uint64_t>> newest_account_transfer(PacketSubmitter& submitter,
                                                               RequestMetrics metrics, u128 account,
                                                               std::uint32_t side);

// Every transfer that debits `resource`'s Budget account: its holds, posts, voids and late
// bookings.
asio::awaitable<Result<std::vector<abi::Transfer>>> budget_debits(PacketSubmitter& submitter,
                                                                  RequestMetrics metrics,
                                                                  Resource resource);

// Logs a create result the caller did not expect for the event with `id`.
void log_unexpected(std::string_view what, u128 id, std::uint32_t status);

// Done when `expected(status)` holds for every event's result; else logs each event whose
// status it refuses and returns an internal fault.
template <typename Event, typename Expected>
Status check_results(std::span<const Event> events, const std::vector<abi::CreateResult>& results,
                     Expected expected, std::string_view what) {
    TF_ASSERT_EQ(events.size(), results.size());
    Status outcome = done();
    for (std::size_t i = 0; i < events.size(); i++) {
        if (expected(results[i].status)) continue;
        log_unexpected(what, events[i].id, results[i].status);
        outcome = Fault::internal;
    }
    return outcome;
}

// Decodes `count` fixed-size records; false when the reply has another size.
template <typename Record>
bool decode_records(std::span<const std::byte> bytes, std::size_t count, std::vector<Record>& out) {
    static_assert(std::is_trivially_copyable_v<Record>);
    if (bytes.size() != count * sizeof(Record)) return false;
    const std::size_t first = out.size();
    out.resize(first + count);
    if (count > 0) std::memcpy(out.data() + first, bytes.data(), bytes.size());
    return true;
}

}  // namespace tigerfans::accounting::tb

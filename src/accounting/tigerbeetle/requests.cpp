// Timed requests, status-to-fault mapping, the typed create/lookup account requests and the
// paged scan of an account's transfers.
#include "accounting/tigerbeetle/requests.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

#include "accounting/tigerbeetle/model.hpp"

#include "tigerfans/core/assert.hpp"

namespace tigerfans::accounting::tb {

RequestMetrics RequestMetrics::in(metrics::Registry& registry, std::string_view operation) {
    const std::string labels = "operation=\"" + std::string(operation) + "\"";
    return RequestMetrics{
        &registry.histogram("tigerfans_tb_batch_events",
                            "Events per TigerBeetle request, by operation",
                            metrics::batch_size_buckets(), labels),
        &registry.histogram("tigerfans_tb_request_seconds",
                            "TigerBeetle request latency (submit to completion), by operation",
                            metrics::latency_buckets_seconds(), labels),
    };
}

Fault fault_of(abi::PacketStatus status) {
    switch (status) {
        case abi::PacketStatus::client_evicted:
        case abi::PacketStatus::client_release_too_low:
        case abi::PacketStatus::client_release_too_high:
        case abi::PacketStatus::client_shutdown: return Fault::unavailable;
        case abi::PacketStatus::invalid_operation:
        case abi::PacketStatus::invalid_data_size:
            spdlog::error("TigerBeetle refused a packet as malformed (status {})",
                          static_cast<int>(status));
            return Fault::internal;
        case abi::PacketStatus::ok:
        case abi::PacketStatus::too_much_data: break;
    }
    TF_ASSERT(false && "fault_of called with a status the caller must handle");
    return Fault::internal;
}

void log_unexpected(std::string_view what, u128 id, std::uint32_t status) {
    spdlog::error("TigerBeetle {} {}: unexpected status {}", what, u128_to_decimal(id), status);
}

asio::awaitable<Result<abi::PacketStatus>> timed_request(
    PacketSubmitter& submitter, RequestMetrics metrics, abi::Operation operation,
    std::span<const std::byte> events, std::size_t event_count, std::vector<std::byte>& results) {
    const auto started = std::chrono::steady_clock::now();
    Result<abi::PacketStatus> status = co_await submitter.request(operation, events, results);
    if (!status) co_return status;
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    if (metrics.request_seconds) metrics.request_seconds->observe(elapsed.count());
    if (metrics.batch_events && *status == abi::PacketStatus::ok) {
        metrics.batch_events->observe(static_cast<double>(event_count));
    }
    co_return status;
}

namespace {
// These one-request helpers carry a few events; larger sets go through a PacketExecutor, which
// learns the cluster's limit.
Fault too_much(std::size_t events) {
    spdlog::error("TigerBeetle refused a request of {} events as too much data", events);
    return Fault::internal;
}
}  // namespace

asio::awaitable<Result<std::vector<abi::CreateResult>>> create_accounts(
    PacketSubmitter& submitter, RequestMetrics metrics, std::span<const abi::Account> accounts) {
    TF_ASSERT(!accounts.empty());
    std::vector<std::byte> reply;
    const Result<abi::PacketStatus> status =
        co_await timed_request(submitter, metrics, abi::Operation::create_accounts,
                               std::as_bytes(accounts), accounts.size(), reply);
    if (!status) co_return status.fault();
    if (*status == abi::PacketStatus::too_much_data) co_return too_much(accounts.size());
    if (*status != abi::PacketStatus::ok) co_return fault_of(*status);
    std::vector<abi::CreateResult> results;
    if (!decode_records(reply, accounts.size(), results)) {
        spdlog::error("create_accounts: {} reply bytes for {} accounts", reply.size(),
                      accounts.size());
        co_return Fault::internal;
    }
    co_return results;
}

asio::awaitable<Result<std::vector<abi::Account>>> lookup_accounts(PacketSubmitter& submitter,
                                                                   RequestMetrics metrics,
                                                                   std::span<const u128> ids) {
    TF_ASSERT(!ids.empty());
    std::vector<std::byte> reply;
    const Result<abi::PacketStatus> status = co_await timed_request(
        submitter, metrics, abi::Operation::lookup_accounts, std::as_bytes(ids), ids.size(), reply);
    if (!status) co_return status.fault();
    if (*status == abi::PacketStatus::too_much_data) co_return too_much(ids.size());
    if (*status != abi::PacketStatus::ok) co_return fault_of(*status);
    std::vector<abi::Account> accounts;
    const std::size_t found = reply.size() / sizeof(abi::Account);
    if (found > ids.size() || !decode_records(reply, found, accounts)) {
        spdlog::error("lookup_accounts: {} reply bytes for {} ids", reply.size(), ids.size());
        co_return Fault::internal;
    }
    co_return accounts;
}

namespace {
abi::AccountFilter side_after(u128 account_id, std::uint32_t side, std::uint64_t timestamp_min) {
    abi::AccountFilter filter{};
    filter.account_id = account_id;
    filter.timestamp_min = timestamp_min;
    filter.limit = abi::request_events_max;
    filter.flags = side;
    return filter;
}

// One page: at most `limit` transfers from `filter.timestamp_min` on.
asio::awaitable<Result<std::vector<abi::Transfer>>> account_transfers(PacketSubmitter& submitter,
                                                                      RequestMetrics metrics,
                                                                      abi::AccountFilter filter) {
    std::vector<std::byte> reply;
    const Result<abi::PacketStatus> status =
        co_await timed_request(submitter, metrics, abi::Operation::get_account_transfers,
                               std::as_bytes(std::span(&filter, 1)), 1, reply);
    if (!status) co_return status.fault();
    if (*status != abi::PacketStatus::ok) co_return fault_of(*status);
    std::vector<abi::Transfer> transfers;
    const std::size_t found = reply.size() / sizeof(abi::Transfer);
    if (found > filter.limit || !decode_records(reply, found, transfers)) {
        spdlog::error("get_account_transfers: {} reply bytes", reply.size());
        co_return Fault::internal;
    }
    co_return transfers;
}
}  // namespace

asio::awaitable<Result<std::vector<abi::Transfer>>> budget_debits(PacketSubmitter& submitter,
                                                                  RequestMetrics metrics,
                                                                  Resource resource) {
    co_return co_await all_account_transfers(submitter, metrics,
                                             model::ids_of(resource).budget_account,
                                             abi::account_filter_flags::debits);
}

asio::awaitable<Result<std::vector<abi::Transfer>>> all_account_transfers(
    PacketSubmitter& submitter, RequestMetrics metrics, u128 account, std::uint32_t side,
    std::uint64_t timestamp_min, std::size_t count_max) {
    TF_ASSERT(side == abi::account_filter_flags::debits ||
              side == abi::account_filter_flags::credits);
    std::vector<abi::Transfer> all;
    std::uint64_t from = timestamp_min;
    for (;;) {
        abi::AccountFilter filter = side_after(account, side, from);
        // No page brings more than one past count_max: the caller gives up on those anyway.
        const std::size_t wanted = count_max - all.size();
        if (wanted < abi::request_events_max) filter.limit = static_cast<std::uint32_t>(wanted + 1);
        auto page = co_await account_transfers(submitter, metrics, filter);
        if (!page) co_return page.fault();
        // The cluster may cap a page below the limit asked for: only an empty page ends.
        if (page->empty()) co_return all;
        all.insert(all.end(), page->begin(), page->end());
        if (all.size() > count_max) co_return all;
        // Timestamps are unique and increasing across the cluster: resume after the last.
        const std::uint64_t last = page->back().timestamp;
        if (last < from) {
            spdlog::error("get_account_transfers: a page went back in time");
            co_return Fault::internal;
        }
        from = last + 1;
    }
}

asio::awaitable<Result<std::vector<abi::Transfer>>> account_transfers_carrying(
    PacketSubmitter& submitter, RequestMetrics metrics, u128 account, std::uint32_t side,
    u128 user_data_128) {
    TF_ASSERT(user_data_128 != 0);  // 0 would match every transfer.
    abi::AccountFilter filter = side_after(account, side, 0);
    filter.user_data_128 = user_data_128;
    auto page = co_await account_transfers(submitter, metrics, filter);
    if (!page) co_return page.fault();
    // A page as full as asked for may have left some out; an order never has that many.
    if (page->size() >= filter.limit) {
        spdlog::error("get_account_transfers: a full page of transfers for one user_data_128");
        co_return Fault::internal;
    }
    co_return page;
}

asio::awaitable<Result<std::uint64_t>> newest_account_transfer(PacketSubmitter& submitter,
                                                               RequestMetrics metrics, u128 account,
                                                               std::uint32_t side) {
    TF_ASSERT(side == abi::account_filter_flags::debits ||
              side == abi::account_filter_flags::credits);
    abi::AccountFilter filter = side_after(account, side | abi::account_filter_flags::reversed, 0);
    filter.limit = 1;
    auto page = co_await account_transfers(submitter, metrics, filter);
    if (!page) co_return page.fault();
    if (page->empty()) co_return std::uint64_t{0};
    co_return page->front().timestamp;
}

}  // namespace tigerfans::accounting::tb

// Level 3 seats: the SeatLedger on TigerBeetle, with the accounts and transfers of
// seat_model.hpp. It shares the ledger's client and transfer batcher: a hold's chain is one
// submission, a submission always travels in one batch, and the packet executor never cuts a
// linked chain, so the cluster sees every chain whole. Loop thread only.
//
// The seat states are read whole once, then brought up to date: once funded, a seat's account
// changes only by a hold, post or void of it, each of which credits the venue's sold account,
// or by its hold's expiry, which leaves no transfer. So a later read looks up only the seats
// named by the sold account's credits since the last read, and every seat that read found
// held. A read that finds a seat not funded yet is not built on: the next is whole again.
#pragma once

#include <cstdint>
#include <optional>

#include "accounting/tigerbeetle/batcher.hpp"
#include "accounting/tigerbeetle/client.hpp"
#include "accounting/tigerbeetle/requests.hpp"
#include "tigerfans/accounting/seat_ledger.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::accounting::tb {

struct SeatRequestMetrics {
    RequestMetrics create_accounts;
    RequestMetrics lookup_accounts;
    RequestMetrics account_transfers;
};

class TbSeatLedger final : public SeatLedger {
public:
    // `events_max` caps the accounts and ids of one request at start-up and in reads; a cluster
    // that takes fewer is learned as for transfers (BatchLimit). The venue, client and batcher
    // must outlive this.
    TbSeatLedger(asio::any_io_executor loop, const seating::Venue& venue, PacketSubmitter& client,
                 TransferBatcher& batcher, SeatRequestMetrics metrics, std::uint32_t events_max);
    TbSeatLedger(asio::any_io_executor, seating::Venue&&, PacketSubmitter&, TransferBatcher&,
                 SeatRequestMetrics, std::uint32_t) = delete;

    // Creates and funds every seat's account, in full requests; a restart meets `exists`.
    asio::awaitable<Status> start();
    // Every call from now on fails with shutting_down (the client is about to close).
    void stop() {
        stopped_ = true;
        seat_lookups_.stop();
    }
    // Completes when no lookup of seats is queued or in flight.
    asio::awaitable<void> drain() { co_await seat_lookups_.drain(); }

    asio::awaitable<Result<seating::SeatStates>> seat_states() override;
    asio::awaitable<Result<SeatHoldResult>> hold_seats(SeatHoldRequest request) override;
    asio::awaitable<Result<std::vector<Resolution>>> post_seats(SeatHolds holds) override;
    asio::awaitable<Result<std::vector<Resolution>>> void_seats(SeatHolds holds) override;
    asio::awaitable<Result<std::vector<SeatHoldEntry>>> hold_entries() override;
    asio::awaitable<Result<std::vector<SeatHoldEntry>>> hold_entries_of(u128 order_id) override;

private:
    asio::awaitable<Status> create_seat_accounts();
    asio::awaitable<Status> fund_seats();
    asio::awaitable<Result<std::vector<abi::Account>>> lookup_seats(std::vector<u128> ids);
    asio::awaitable<Result<std::vector<SeatId>>> taken_among(const std::vector<SeatId>& seats);
    asio::awaitable<Result<std::vector<Resolution>>> resolve(SeatHolds holds, bool posting);

    // The states as of a read, and the newest credit of the sold account it took in: every
    // later one is after it.
    struct KnownStates {
        seating::SeatStates states;
        std::uint64_t credits_until = 0;
        bool every_seat_funded = true;
    };
    asio::awaitable<Result<KnownStates>> read_every_seat();
    asio::awaitable<Result<KnownStates>> read_changes(const KnownStates& known);

    const seating::Venue& venue_;
    PacketSubmitter& client_;
    RequestMetrics scan_metrics_;
    TransferBatcher& batcher_;
    PacketExecutor<abi::Account, abi::CreateResult> account_creator_;
    PacketExecutor<u128, abi::Account> lookups_;  // Every id must name an account.
    // The few seats of refused holds, looked up together: under a race every refusal asks,
    // and one request each would run the client out of packets.
    AutoBatcher<u128, abi::Account> seat_lookups_;
    std::uint32_t events_max_;
    std::uint64_t key_;
    bool stopped_ = false;
    std::optional<KnownStates> known_;  // Empty before the first read and after a failed one.
    bool reading_states_ = false;       // A second read meanwhile reads every seat on its own.
};

}  // namespace tigerfans::accounting::tb

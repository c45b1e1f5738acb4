// The ledger's transfers (docs/ARCHITECTURE.md §4): holds, posts, voids and late bookings of
// the Ledger interface, each one submission to the transfer batcher, and what the cluster's
// answers mean for the caller. A hold asks for a goodie only while the GoodieOutlook says
// some may be left, and every answer about the goodies updates that outlook. Loop thread only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>

#include "accounting/tigerbeetle/batcher.hpp"
#include "accounting/tigerbeetle/goodie_outlook.hpp"
#include "tigerfans/accounting/ledger.hpp"

namespace tigerfans::accounting::tb {

class Reservations {
public:
    using Clock = GoodieOutlook::Clock;

    // The batcher must outlive this. `now` tells the outlook the time (tests pass their own).
    Reservations(TransferBatcher& batcher, Clock::duration goodie_retry_interval,
                 std::function<Clock::time_point()> now = &Clock::now);

    asio::awaitable<Result<HoldResult>> hold(HoldRequest request);
    asio::awaitable<Result<CommitResult>> commit(CommitRequest request);
    asio::awaitable<Result<BookResult>> book_late(CommitRequest request);
    asio::awaitable<Status> cancel(TicketClass cls, u128 ticket_hold_id, u128 goodie_hold_id);

    // What an inventory read saw of the goodies.
    void note_goodie_balance(const Balance& goodies);

    const GoodieOutlook& goodies() const { return goodies_; }

private:
    bool goodie_hold_taken(std::uint32_t status, u128 goodie_hold_id);
    asio::awaitable<Result<bool>> book(Resource resource, u128 hold_id, u128 order_id,
                                       std::string_view what);
    asio::awaitable<void> release_goodie(u128 goodie_hold_id);

    TransferBatcher& batcher_;
    GoodieOutlook goodies_;
    std::function<Clock::time_point()> now_;
};

}  // namespace tigerfans::accounting::tb

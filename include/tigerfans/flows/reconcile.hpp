// Reconciliation: the ledger against the orders. Every ticket the ledger posted carries its
// order's id, so a pass can tell
//   - a posted ticket without a paid order: the customer paid and the order was lost (a crash
//     between the post and the group commit that no redelivery repaired). Repaired: the order
//     is written from the ledger's facts (id, class, price, goodie), status PAID, with a fresh
//     ticket code and no email; a FAILED or CANCELED row for it becomes PAID.
//   - a posted ticket whose order says PAID_UNFULFILLED: the ticket was sold to nobody.
//     Reported, never changed (the customer is on the refund list).
//   - a PAID order whose ticket the ledger never posted: reported.
//   - an order with two posted tickets (sold twice): reported.
//   - open holds (they expire by themselves), tickets without an order id (the isolated
//     accounting endpoints), and the refund list's length (PAID_UNFULFILLED orders).
// Seat orders the same way, from the seat holds (with a venue): an order with seats sold but no
// paid row is written from the holds (its seats, their prices), PAID when every seat it held
// was sold, else PAID_UNFULFILLED (the customer paid, some seats went back on sale: a refund,
// and the seats it did sell are reported on every pass, for a person to put back on sale); a
// PAID seat order whose seats the ledger did not all sell to it is reported.
// Tickets posted, and orders paid, within the grace period are left to the next pass: their
// webhook may still be writing the order. A pass is idempotent: a second one writes nothing.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/accounting/seat_ledger.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/orders/order_store.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::flows {

namespace asio = boost::asio;

struct ReconcileOptions {
    bool repair = true;  // False: report what would be written, write nothing.
    std::int64_t grace_us = std::int64_t{limits::reconcile_grace_s} * 1'000'000;
};

struct ReconcileReport {
    std::int64_t at_us = 0;            // When the pass started.
    std::size_t ledger_entries = 0;    // Holds and late bookings read.
    std::size_t paid_orders = 0;       // PAID orders checked against the ledger.
    std::size_t seat_orders = 0;       // PAID seat orders checked against the seat holds.
    std::size_t open_holds = 0;        // Pending within their timeout.
    std::size_t untraced_tickets = 0;  // Tickets or seats sold without an order id.
    std::size_t refunds = 0;           // PAID_UNFULFILLED orders.
    std::vector<std::string> written;  // Orders written (or, without repair, to write).
    std::vector<std::string> unfulfilled_but_posted;
    std::vector<std::string> paid_but_unposted;
    std::vector<std::string> sold_twice;  // Orders with more than one posted ticket.

    // Nothing is left that a person must look at (what was written is repaired).
    bool clean() const {
        return unfulfilled_but_posted.empty() && paid_but_unposted.empty() && sold_twice.empty();
    }
};

nlohmann::json to_json(const ReconcileReport& report);
// What the pass found and did, one line per finding, for the command line and the log.
std::string describe(const ReconcileReport& report);

// A ticket the ledger posted for an order, with the order's goodie if one was posted too.
struct PostedTicket {
    std::string order_id;
    TicketClass cls = TicketClass::a;
    u128 transfer_id = 0;
    std::int64_t created_at_us = 0;
    std::int64_t posted_at_us = 0;
    u128 goodie_transfer_id = 0;  // 0: no goodie posted for this order.
};

// The ledger as the reconciler judges it (pure, for the unit tests).
struct LedgerView {
    std::vector<PostedTicket> posted;  // Posted before `cutoff_us`, one per order.
    std::unordered_set<u128, U128Hash> posted_transfers;  // Every posted ticket transfer.
    std::size_t open_holds = 0;
    std::size_t untraced_tickets = 0;
    std::vector<std::string> sold_twice;
};
LedgerView view_ledger(const std::vector<accounting::LedgerEntry>& entries, std::int64_t cutoff_us);

// The order the ledger's facts describe: PAID, the class's price, a new ticket code.
orders::Order order_from_ledger(const PostedTicket& ticket);

// Splits posted tickets by what their stored order (among `stored`) says: missing or unpaid
// ones go to `to_write`, PAID_UNFULFILLED ones to `unfulfilled`.
void judge_posted(std::span<const PostedTicket> posted, const std::vector<orders::Order>& stored,
                  std::vector<orders::Order>& to_write, std::vector<std::string>& unfulfilled);

// The holds of one seat order that sold at least one seat, every hold resolved.
struct SoldSeatOrder {
    std::string order_id;
    std::vector<seating::SeatId> seats;  // Every seat the order held, ascending.
    std::vector<seating::SeatId> sold;   // Those sold to it, ascending.
    u128 first_hold_id = 0;              // The hold of its first seat (the order's ticket id).
    std::int64_t held_at_us = 0;         // Its first hold.
    std::int64_t sold_at_us = 0;         // Its last sale.
};

// The seat holds as the reconciler judges them (pure, for the unit tests).
struct SeatSalesView {
    std::vector<SoldSeatOrder> sold;  // Their last sale before `cutoff_us`, no hold pending.
    // Every order's sold seats, ascending, whenever sold.
    std::unordered_map<std::string, std::vector<seating::SeatId>> sold_seats;
    std::size_t open_holds = 0;
    std::size_t untraced = 0;  // Seats sold without an order id.
};
SeatSalesView view_seat_holds(const std::vector<accounting::SeatHoldEntry>& entries,
                              std::int64_t cutoff_us);

// The seat order the holds describe: the prices of all its seats, PAID with a new ticket code
// when every one was sold, else PAID_UNFULFILLED.
orders::Order order_from_seats(const SoldSeatOrder& sold, const seating::Venue& venue);

// What a pass reads and writes: the ledger and the orders, nothing else; the venue, when the
// server sells seats, to price the seat orders it writes.
struct ReconcileStores {
    accounting::Ledger& ledger;
    orders::OrderStore& orders;
    const seating::Venue* venue = nullptr;
};

// One pass over the ledger and the orders.
asio::awaitable<Result<ReconcileReport>> reconcile(ReconcileStores stores,
                                                   ReconcileOptions options);

// The pass the server runs every `interval_s` seconds (0: never), keeping the last report for
// the admin; at most one pass runs at a time.
class Reconciler {
public:
    Reconciler(asio::any_io_executor loop, ReconcileStores stores, std::uint32_t interval_s);

    void start();
    // Ends the periodic loop. A pass still waiting on a store is left to finish (or fail) when
    // the stores stop, after at most `wait`.
    asio::awaitable<void> stop(std::chrono::milliseconds wait);

    // Runs a pass now; `overloaded` when one is running already.
    asio::awaitable<Result<ReconcileReport>> run_now();
    const std::optional<ReconcileReport>& last() const { return last_; }
    bool running() const { return running_; }

private:
    asio::awaitable<void> loop();

    ReconcileStores stores_;
    std::uint32_t interval_s_;
    asio::steady_timer timer_;
    std::optional<ReconcileReport> last_;
    bool running_ = false;
    bool loop_running_ = false;
    bool stopping_ = false;
};

}  // namespace tigerfans::flows

// What the business flows work with: the configuration, the three stores, the id generator,
// what the latest holds found and the component timings. Built once by the app; flows hold no
// state of their own.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>

#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/accounting/seat_ledger.hpp"
#include "tigerfans/config/config.hpp"
#include "tigerfans/core/background_tasks.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/flows/hold_outlook.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/orders/order_store.hpp"
#include "tigerfans/seating/availability.hpp"
#include "tigerfans/seating/recent_holds.hpp"
#include "tigerfans/seating/seat_map.hpp"
#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::flows {

namespace asio = boost::asio;

// Latency of each store call the flows make, under the names the demo's timings use
// ("accounting.hold", "paymentsession.save", "db.add_order", ...), and the counts of what the
// flows achieved: checkouts that held a ticket, orders stored as paid with a ticket.
struct Timings {
    explicit Timings(metrics::Registry& registry);

    metrics::Histogram& accounting_hold;
    metrics::Histogram& accounting_commit;
    metrics::Histogram& accounting_book_late;
    metrics::Histogram& accounting_cancel;
    metrics::Histogram& accounting_inventory;
    metrics::Histogram& session_save;
    metrics::Histogram& session_find;
    metrics::Histogram& session_gate;
    metrics::Histogram& session_remove;
    metrics::Histogram& order_insert;
    metrics::Histogram& order_find;
    metrics::Counter& checkouts;
    metrics::Counter& sales;
};

// Reserved seating, with VENUE set: the venue, its seats in the ledger, the map fans see, the
// best-available search over it and the seats this process asked to hold since the map's read.
struct Seating {
    const seating::Venue& venue;
    accounting::SeatLedger& ledger;
    seating::SeatMap& map;
    const seating::BestAvailable& best;
    seating::RecentHolds& recent;
};

struct Services {
    const config::Config& config;
    accounting::Ledger& ledger;
    sessions::SessionStore& sessions;
    orders::OrderStore& orders;
    IdGenerator& ids;
    HoldOutlook& outlook;
    Timings& timings;
    metrics::Registry& registry;
    const Seating* seating;  // Null without VENUE.
    // Where a checkout retries, after its answer, the undoing of a store call whose answer was
    // lost (checkout_undo.hpp). Null: not retried; each such call ends by its own time.
    BackgroundTasks* background = nullptr;
    // The clock a checkout times its hold's answer by (tests set one of their own).
    std::int64_t (*steady_us)() = steady_now_us;
};

// Awaits `operation` and records how long it took in `histogram`.
template <typename T>
asio::awaitable<T> timed(metrics::Histogram& histogram, asio::awaitable<T> operation) {
    const auto started = std::chrono::steady_clock::now();
    T result = co_await std::move(operation);
    histogram.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    co_return result;
}

}  // namespace tigerfans::flows

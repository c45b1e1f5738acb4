// Reconciliation (see reconcile.hpp): one read of the ledger, then the orders in pages.
#include "tigerfans/flows/reconcile.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/timer_loop.hpp"

namespace tigerfans::flows {

namespace {
using accounting::EntryState;
using accounting::LedgerEntry;

TicketClass class_of(Resource resource) {
    TF_ASSERT_NE(resource, Resource::goodies);
    return resource == Resource::class_a ? TicketClass::a : TicketClass::b;
}

// Order id -> its posted goodie's transfer id.
std::unordered_map<u128, u128, U128Hash> posted_goodies(const std::vector<LedgerEntry>& entries) {
    std::unordered_map<u128, u128, U128Hash> goodies;
    for (const LedgerEntry& entry : entries) {
        if (entry.resource != Resource::goodies || entry.state != EntryState::posted) continue;
        if (entry.order_id != 0) goodies.emplace(entry.order_id, entry.transfer_id);
    }
    return goodies;
}

std::string join(const std::vector<std::string>& ids) {
    std::string text;
    for (const std::string& id : ids) text += (text.empty() ? "" : " ") + id;
    return text;
}
}  // namespace

LedgerView view_ledger(const std::vector<LedgerEntry>& entries, std::int64_t cutoff_us) {
    LedgerView view;
    const auto goodies = posted_goodies(entries);
    std::unordered_set<u128, U128Hash> orders_seen;
    for (const LedgerEntry& entry : entries) {
        if (entry.resource == Resource::goodies) continue;
        if (entry.state == EntryState::pending) view.open_holds++;
        if (entry.state != EntryState::posted) continue;
        view.posted_transfers.insert(entry.transfer_id);
        if (entry.order_id == 0) {
            view.untraced_tickets++;
            continue;
        }
        if (entry.resolved_at_us >= cutoff_us) continue;  // Its webhook may still be running.
        if (!orders_seen.insert(entry.order_id).second) {
            view.sold_twice.push_back(order_id_from(entry.order_id));
            continue;
        }
        PostedTicket ticket;
        ticket.order_id = order_id_from(entry.order_id);
        ticket.cls = class_of(entry.resource);
        ticket.transfer_id = entry.transfer_id;
        ticket.created_at_us = entry.created_at_us;
        ticket.posted_at_us = entry.resolved_at_us;
        if (const auto goodie = goodies.find(entry.order_id); goodie != goodies.end()) {
            ticket.goodie_transfer_id = goodie->second;
        }
        view.posted.push_back(std::move(ticket));
    }
    return view;
}

orders::Order order_from_ledger(const PostedTicket& ticket) {
    orders::Order order;
    order.id = ticket.order_id;
    order.ticket_transfer_id = ticket.transfer_id;
    order.goodie_transfer_id = ticket.goodie_transfer_id;
    order.try_goodie = ticket.goodie_transfer_id != 0;
    order.got_goodie = ticket.goodie_transfer_id != 0;
    order.cls = ticket.cls;
    order.qty = ticket_quantity;
    order.amount_cents = price_cents(ticket.cls) * ticket_quantity;
    order.currency = std::string(currency);
    order.status = orders::OrderStatus::paid;
    order.created_at_us = ticket.created_at_us;
    order.paid_at_us = ticket.posted_at_us;
    order.ticket_code = new_ticket_code();
    TF_ASSERT(orders::is_valid_order_id(order.id));  // Written only for a ticket with an order.
    return order;
}

namespace {
// Sold items (posted tickets, sold seat orders) against their stored orders: missing or unpaid
// ones go to `to_write` as `make` writes them, PAID_UNFULFILLED ones to `unfulfilled`.
template <typename Sold, typename Make>
void judge_sold(std::span<const Sold> sold, const std::vector<orders::Order>& stored, Make make,
                std::vector<orders::Order>& to_write, std::vector<std::string>& unfulfilled) {
    std::unordered_map<std::string_view, orders::OrderStatus> statuses;
    for (const orders::Order& order : stored) statuses.emplace(order.id, order.status);
    for (const Sold& item : sold) {
        const auto found = statuses.find(item.order_id);
        if (found != statuses.end() && found->second == orders::OrderStatus::paid) continue;
        if (found != statuses.end() && found->second == orders::OrderStatus::paid_unfulfilled) {
            unfulfilled.push_back(item.order_id);
            continue;
        }
        // Missing, FAILED or CANCELED: the insert writes it, or moves the stored row to paid.
        to_write.push_back(make(item));
    }
}
}  // namespace

void judge_posted(std::span<const PostedTicket> posted, const std::vector<orders::Order>& stored,
                  std::vector<orders::Order>& to_write, std::vector<std::string>& unfulfilled) {
    judge_sold(posted, stored, order_from_ledger, to_write, unfulfilled);
}

SeatSalesView view_seat_holds(const std::vector<accounting::SeatHoldEntry>& entries,
                              std::int64_t cutoff_us) {
    SeatSalesView view;
    std::unordered_map<u128, std::vector<const accounting::SeatHoldEntry*>, U128Hash> by_order;
    for (const accounting::SeatHoldEntry& entry : entries) {
        if (entry.state == EntryState::pending) view.open_holds++;
        if (entry.order_id == 0) {
            if (entry.state == EntryState::posted) view.untraced++;
            continue;
        }
        by_order[entry.order_id].push_back(&entry);
    }
    for (auto& [order_id, holds] : by_order) {
        std::sort(holds.begin(), holds.end(),
                  [](const auto* a, const auto* b) { return a->seat < b->seat; });
        SoldSeatOrder order;
        order.order_id = order_id_from(order_id);
        order.first_hold_id = holds.front()->hold_id;
        order.held_at_us = holds.front()->held_at_us;
        bool open = false;
        for (const accounting::SeatHoldEntry* hold : holds) {
            order.seats.push_back(hold->seat);
            order.held_at_us = std::min(order.held_at_us, hold->held_at_us);
            open = open || hold->state == EntryState::pending;
            if (hold->state != EntryState::posted) continue;
            order.sold.push_back(hold->seat);
            order.sold_at_us = std::max(order.sold_at_us, hold->resolved_at_us);
        }
        if (order.sold.empty()) continue;  // Never paid, or not yet.
        view.sold_seats.emplace(order.order_id, order.sold);
        // A hold still open or a sale within the grace: its webhook may still be writing.
        if (open || order.sold_at_us >= cutoff_us) continue;
        view.sold.push_back(std::move(order));
    }
    // Pages of order ids in a fixed order, so a pass reads as the last did.
    std::sort(
        view.sold.begin(), view.sold.end(),
        [](const SoldSeatOrder& a, const SoldSeatOrder& b) { return a.order_id < b.order_id; });
    return view;
}

orders::Order order_from_seats(const SoldSeatOrder& sold, const seating::Venue& venue) {
    TF_ASSERT(!sold.sold.empty() && sold.sold.size() <= sold.seats.size());
    orders::Order order;
    order.id = sold.order_id;
    order.ticket_transfer_id = sold.first_hold_id;
    order.qty = ticket_quantity;
    order.amount_cents = venue.price_cents(sold.seats);
    order.currency = std::string(currency);
    const bool whole = sold.sold.size() == sold.seats.size();
    order.status = whole ? orders::OrderStatus::paid : orders::OrderStatus::paid_unfulfilled;
    order.created_at_us = sold.held_at_us;
    order.paid_at_us = sold.sold_at_us;
    if (whole) order.ticket_code = new_ticket_code();
    order.seats = sold.seats;
    TF_ASSERT(orders::is_valid_order_id(order.id));
    return order;
}

nlohmann::json to_json(const ReconcileReport& report) {
    return nlohmann::json{
        {"at_us", report.at_us},
        {"ledger_entries", report.ledger_entries},
        {"paid_orders", report.paid_orders},
        {"seat_orders", report.seat_orders},
        {"open_holds", report.open_holds},
        {"untraced_tickets", report.untraced_tickets},
        {"refunds", report.refunds},
        {"written", report.written},
        {"unfulfilled_but_posted", report.unfulfilled_but_posted},
        {"paid_but_unposted", report.paid_but_unposted},
        {"sold_twice", report.sold_twice},
        {"clean", report.clean()},
    };
}

std::string describe(const ReconcileReport& report) {
    std::string text =
        "reconcile: read " + std::to_string(report.ledger_entries) + " ledger entries and " +
        std::to_string(report.paid_orders) + " paid orders and " +
        std::to_string(report.seat_orders) + " paid seat orders; " +
        std::to_string(report.open_holds) + " holds open (they expire by themselves), " +
        std::to_string(report.untraced_tickets) + " tickets or seats sold without an order id, " +
        std::to_string(report.refunds) + " orders to refund (PAID_UNFULFILLED)\n";
    const auto line = [&text](const char* what, const std::vector<std::string>& ids) {
        text += "reconcile: " + std::to_string(ids.size()) + " " + what;
        text += ids.empty() ? "\n" : ": " + join(ids) + "\n";
    };
    line("orders written from what the ledger sold", report.written);
    line("orders PAID_UNFULFILLED although their ticket was posted (left as they are)",
         report.unfulfilled_but_posted);
    line("orders PAID whose ticket the ledger never posted", report.paid_but_unposted);
    line("orders with more than one posted ticket", report.sold_twice);
    text += report.clean() ? "reconcile: nothing left to look at\n"
                           : "reconcile: findings above need a person\n";
    return text;
}

namespace {
template <typename Sold>
std::vector<std::string> ids_of(const std::vector<Sold>& sold, std::size_t first,
                                std::size_t count) {
    std::vector<std::string> ids;
    for (std::size_t i = first; i < first + count; i++) ids.push_back(sold[i].order_id);
    return ids;
}

asio::awaitable<Status> write_orders(ReconcileStores stores, std::vector<orders::Order> orders,
                                     const ReconcileOptions& options, ReconcileReport& report) {
    for (orders::Order& order : orders) {
        const std::string id = order.id;
        const orders::OrderStatus status = order.status;
        // Only what the ledger sold is written: paid, or (seats partly sold) a refund.
        TF_ASSERT(orders::is_paid(status));
        if (!options.repair) {
            report.written.push_back(id);
            continue;
        }
        auto stored = co_await stores.orders.insert(std::move(order));
        if (!stored) co_return stored.fault();
        // A paid order replaces an unpaid row and nothing replaces a paid one: the row is paid.
        TF_ASSERT_MSG(orders::is_paid(*stored), "order ", id, " stayed ",
                      orders::status_name(*stored), " after a paid insert");
        // A webhook may have stored the order meanwhile: then nothing was written. Unfulfilled
        // although the ledger sold all it held is for a person to look at.
        if (*stored != status) {
            if (*stored == orders::OrderStatus::paid_unfulfilled) {
                report.unfulfilled_but_posted.push_back(id);
            }
            continue;
        }
        spdlog::warn("reconcile: wrote order {} ({}) from what the ledger sold", id,
                     orders::status_name(status));
        report.written.push_back(id);
        // Seats sold to a refunded order wait for a person, as on every later pass.
        if (status == orders::OrderStatus::paid_unfulfilled) {
            report.unfulfilled_but_posted.push_back(id);
        }
    }
    co_return done();
}

// Sold items (posted tickets, sold seat orders) whose order is missing or unpaid, a page of ids
// at a time; `make` writes an item's order.
template <typename Sold, typename Make>
asio::awaitable<Status> repair_sold(ReconcileStores stores, const std::vector<Sold>& sold,
                                    Make make, const ReconcileOptions& options,
                                    ReconcileReport& report) {
    const std::size_t page = limits::reconcile_orders_page;
    for (std::size_t first = 0; first < sold.size(); first += page) {
        const std::size_t count = std::min(page, sold.size() - first);
        std::vector<std::string> ids = ids_of(sold, first, count);
        auto stored = co_await stores.orders.find_many(std::move(ids));
        if (!stored) co_return stored.fault();
        TF_ASSERT_LE(stored->size(), count);  // At most one row per id asked for.
        std::vector<orders::Order> to_write;
        judge_sold(std::span(sold).subspan(first, count), *stored, make, to_write,
                   report.unfulfilled_but_posted);
        Status written = co_await write_orders(stores, std::move(to_write), options, report);
        if (!written) co_return written;
    }
    co_return done();
}

// Calls `visit` for every stored order with `status`, a page at a time.
template <typename Visit>
asio::awaitable<Status> each_order(ReconcileStores stores, orders::OrderStatus status,
                                   Visit visit) {
    std::string after;
    for (;;) {
        auto page =
            co_await stores.orders.with_status(status, after, limits::reconcile_orders_page);
        if (!page) co_return page.fault();
        TF_ASSERT_LE(page->size(), limits::reconcile_orders_page);
        for (const orders::Order& order : *page) {
            TF_ASSERT_EQ(order.status, status);
            TF_ASSERT_GT(order.id, after);  // Pages move forward, or the pass would not end.
            visit(order);
        }
        if (page->size() < limits::reconcile_orders_page) co_return done();
        after = page->back().id;
    }
}

bool paid_before(const orders::Order& order, std::int64_t cutoff_us) {
    return order.paid_at_us.value_or(order.created_at_us) < cutoff_us;
}

// The seat holds, judged, with the seat orders they sold repaired; nullopt when the server
// sells no seats.
asio::awaitable<Result<std::optional<SeatSalesView>>> reconcile_seats(
    ReconcileStores stores, std::int64_t cutoff_us, const ReconcileOptions& options,
    ReconcileReport& report) {
    accounting::SeatLedger* seats = stores.ledger.seats();
    if (stores.venue == nullptr || seats == nullptr) co_return std::nullopt;
    auto entries = co_await seats->hold_entries();
    if (!entries) co_return entries.fault();
    report.ledger_entries += entries->size();
    SeatSalesView view = view_seat_holds(*entries, cutoff_us);
    report.open_holds += view.open_holds;
    report.untraced_tickets += view.untraced;
    const seating::Venue& venue = *stores.venue;
    auto make = [&venue](const SoldSeatOrder& sold) { return order_from_seats(sold, venue); };
    Status repaired = co_await repair_sold(stores, view.sold, make, options, report);
    if (!repaired) co_return repaired.fault();
    co_return std::optional<SeatSalesView>(std::move(view));
}

// A PAID seat order paid before the cutoff must have had every seat sold to it.
void check_paid_seats(const orders::Order& order, const std::optional<SeatSalesView>& seats,
                      std::int64_t cutoff_us, ReconcileReport& report) {
    report.seat_orders++;
    if (!seats || !paid_before(order, cutoff_us)) return;
    const auto sold = seats->sold_seats.find(order.id);
    if (sold != seats->sold_seats.end() && sold->second == order.seats) return;
    report.paid_but_unposted.push_back(order.id);
}
}  // namespace

asio::awaitable<Result<ReconcileReport>> reconcile(ReconcileStores stores,
                                                   ReconcileOptions options) {
    ReconcileReport report;
    report.at_us = unix_now_us();
    const std::int64_t cutoff_us = report.at_us - options.grace_us;
    auto entries = co_await stores.ledger.entries();
    if (!entries) co_return entries.fault();
    report.ledger_entries = entries->size();
    const LedgerView view = view_ledger(*entries, cutoff_us);
    report.open_holds = view.open_holds;
    report.untraced_tickets = view.untraced_tickets;
    report.sold_twice = view.sold_twice;
    Status repaired = co_await repair_sold(stores, view.posted, order_from_ledger, options, report);
    if (!repaired) co_return repaired.fault();
    auto seats = co_await reconcile_seats(stores, cutoff_us, options, report);
    if (!seats) co_return seats.fault();
    Status checked =
        co_await each_order(stores, orders::OrderStatus::paid, [&](const orders::Order& order) {
            // A seat order's tickets are its seats' holds, not the class entries above.
            if (!order.seats.empty()) {
                check_paid_seats(order, *seats, cutoff_us, report);
                return;
            }
            report.paid_orders++;
            if (!paid_before(order, cutoff_us)) return;
            if (view.posted_transfers.contains(order.ticket_transfer_id)) return;
            report.paid_but_unposted.push_back(order.id);
        });
    if (!checked) co_return checked.fault();
    Status counted = co_await each_order(stores, orders::OrderStatus::paid_unfulfilled,
                                         [&](const orders::Order&) { report.refunds++; });
    if (!counted) co_return counted.fault();
    co_return report;
}

Reconciler::Reconciler(asio::any_io_executor loop, ReconcileStores stores, std::uint32_t interval_s)
    : stores_(stores), interval_s_(interval_s), timer_(loop) {}

void Reconciler::start() {
    if (interval_s_ == 0) return;
    spawn_timer_loop(timer_.get_executor(), loop(), loop_running_, "reconcile");
}

asio::awaitable<void> Reconciler::stop(std::chrono::milliseconds wait) {
    stopping_ = true;
    co_await stop_timer_loop(
        timer_, [this] { return loop_running_; }, wait);
}

asio::awaitable<void> Reconciler::loop() {
    boost::system::error_code ignored;
    while (!stopping_) {
        timer_.expires_after(std::chrono::seconds(interval_s_));
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        if (stopping_) break;
        if (running_) {
            spdlog::warn("reconcile: the previous pass is still running; skipping this one");
            continue;
        }
        auto report = co_await run_now();
        if (!report) {
            spdlog::warn("reconcile: pass failed ({}); next in {} s", fault_name(report.fault()),
                         interval_s_);
        }
    }
}

asio::awaitable<Result<ReconcileReport>> Reconciler::run_now() {
    if (running_) co_return Fault::overloaded;
    running_ = true;
    struct Running {  // Cleared however the pass ends, an exception included.
        bool& flag;
        ~Running() { flag = false; }
    } guard{running_};
    const ReconcileOptions options;
    auto report = co_await reconcile(stores_, options);
    if (!report) co_return report;
    const bool quiet = report->clean() && report->written.empty();
    spdlog::log(quiet ? spdlog::level::info : spdlog::level::warn, "{}", describe(*report));
    last_ = *report;
    co_return report;
}

}  // namespace tigerfans::flows

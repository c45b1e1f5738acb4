// Reconciliation (see reconcile.hpp): one read of the ledger, then the orders in pages.
#include "tigerfans/flows/reconcile.hpp"

#include <spdlog/spdlog.h>

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

void judge_posted(std::span<const PostedTicket> posted, const std::vector<orders::Order>& stored,
                  std::vector<orders::Order>& to_write, std::vector<std::string>& unfulfilled) {
    std::unordered_map<std::string_view, orders::OrderStatus> statuses;
    for (const orders::Order& order : stored) statuses.emplace(order.id, order.status);
    for (const PostedTicket& ticket : posted) {
        const auto found = statuses.find(ticket.order_id);
        if (found != statuses.end() && found->second == orders::OrderStatus::paid) continue;
        if (found != statuses.end() && found->second == orders::OrderStatus::paid_unfulfilled) {
            unfulfilled.push_back(ticket.order_id);
            continue;
        }
        // Missing, FAILED or CANCELED: the insert writes it, or moves the stored row to PAID.
        to_write.push_back(order_from_ledger(ticket));
    }
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
        std::to_string(report.paid_orders) + " paid orders; " + std::to_string(report.open_holds) +
        " holds open (they expire by themselves), " + std::to_string(report.untraced_tickets) +
        " tickets sold without an order id, " + std::to_string(report.refunds) +
        " orders to refund (PAID_UNFULFILLED)\n";
    const auto line = [&text](const char* what, const std::vector<std::string>& ids) {
        text += "reconcile: " + std::to_string(ids.size()) + " " + what;
        text += ids.empty() ? "\n" : ": " + join(ids) + "\n";
    };
    line("orders written from posted tickets", report.written);
    line("orders PAID_UNFULFILLED although their ticket was posted (left as they are)",
         report.unfulfilled_but_posted);
    line("orders PAID whose ticket the ledger never posted", report.paid_but_unposted);
    line("orders with more than one posted ticket", report.sold_twice);
    text += report.clean() ? "reconcile: nothing left to look at\n"
                           : "reconcile: findings above need a person\n";
    return text;
}

namespace {
std::vector<std::string> ids_of(const std::vector<PostedTicket>& tickets, std::size_t first,
                                std::size_t count) {
    std::vector<std::string> ids;
    for (std::size_t i = first; i < first + count; i++) ids.push_back(tickets[i].order_id);
    return ids;
}

asio::awaitable<Status> write_orders(ReconcileStores stores, std::vector<orders::Order> orders,
                                     const ReconcileOptions& options, ReconcileReport& report) {
    for (orders::Order& order : orders) {
        const std::string id = order.id;
        TF_ASSERT_EQ(order.status, orders::OrderStatus::paid);  // Only posted tickets are written.
        if (!options.repair) {
            report.written.push_back(id);
            continue;
        }
        auto stored = co_await stores.orders.insert(std::move(order));
        if (!stored) co_return stored.fault();
        // A paid order replaces an unpaid row and nothing replaces a paid one: the row is paid.
        TF_ASSERT_MSG(orders::is_paid(*stored), "order ", id, " stayed ",
                      orders::status_name(*stored), " after a paid insert");
        // A webhook may have stored the order meanwhile, unfulfilled: then nothing was written.
        if (*stored == orders::OrderStatus::paid_unfulfilled) {
            report.unfulfilled_but_posted.push_back(id);
            continue;
        }
        spdlog::warn("reconcile: wrote order {} from its posted ticket", id);
        report.written.push_back(id);
    }
    co_return done();
}

// Posted tickets whose order is missing or unpaid, a page of ids at a time.
asio::awaitable<Status> repair_posted(ReconcileStores stores, const LedgerView& view,
                                      const ReconcileOptions& options, ReconcileReport& report) {
    const std::size_t page = limits::reconcile_orders_page;
    for (std::size_t first = 0; first < view.posted.size(); first += page) {
        const std::size_t count = std::min(page, view.posted.size() - first);
        std::vector<std::string> ids = ids_of(view.posted, first, count);
        auto stored = co_await stores.orders.find_many(std::move(ids));
        if (!stored) co_return stored.fault();
        TF_ASSERT_LE(stored->size(), count);  // At most one row per id asked for.
        std::vector<orders::Order> to_write;
        judge_posted(std::span(view.posted).subspan(first, count), *stored, to_write,
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
    Status repaired = co_await repair_posted(stores, view, options, report);
    if (!repaired) co_return repaired.fault();
    Status checked =
        co_await each_order(stores, orders::OrderStatus::paid, [&](const orders::Order& order) {
            // A seat order's tickets are its seats' transfers, which the class entries above
            // do not hold: counted, not matched.
            if (!order.seats.empty()) {
                report.seat_orders++;
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

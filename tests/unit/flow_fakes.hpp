// In-memory test doubles of the three stores the flows use, and a fixture that wires them
// into Services: what the flow tests and the reconciler tests share.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/run_async.hpp"
#include "tigerfans/config/config.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/u128.hpp"
#include "tigerfans/flows/checkout.hpp"
#include "tigerfans/flows/services.hpp"
#include "tigerfans/flows/webhook.hpp"

namespace tigerfans::flows::testing_fakes {

using accounting::Resolution;

// Holds are held or not; expiry is simulated by flipping `expired`.
class FakeLedger final : public accounting::Ledger {
public:
    std::uint64_t tickets_left = 10;
    std::uint64_t goodies_left = 10;
    std::set<u128> held, posted, voided, expired;
    std::map<u128, accounting::BookResult> booked;  // Late bookings by ticket hold id.
    std::map<u128, u128> order_of;                  // Hold id -> the order id it carries.
    std::map<u128, TicketClass> class_of;           // Ticket hold id -> its class.
    std::map<u128, std::int64_t> posted_at_us;      // Ticket hold id -> when it was posted.
    std::optional<Fault> fail_next;

    std::string_view backend_name() const override { return "fake"; }
    asio::awaitable<Status> start() override { co_return done(); }
    asio::awaitable<Status> attach() override { co_return done(); }
    asio::awaitable<Result<accounting::HoldResult>> hold(accounting::HoldRequest request) override {
        if (auto fault = take_fault()) co_return *fault;
        accounting::HoldResult result;
        order_of[request.ticket_hold_id] = request.order_id;
        class_of[request.ticket_hold_id] = request.cls;
        result.ticket_held = take(tickets_left, request.ticket_hold_id);
        result.goodie_held = result.ticket_held && take(goodies_left, request.goodie_hold_id);
        co_return result;
    }
    asio::awaitable<Result<accounting::CommitResult>> commit(
        accounting::CommitRequest request) override {
        if (auto fault = take_fault()) co_return *fault;
        accounting::CommitResult result;
        result.ticket = post(request.ticket_hold_id);
        if (request.goodie_held) result.goodie = post(request.goodie_hold_id);
        co_return result;
    }
    asio::awaitable<Result<accounting::BookResult>> book_late(
        accounting::CommitRequest request) override {
        if (auto fault = take_fault()) co_return *fault;
        // Idempotent by the derived id, as in the real ledgers: a retry books nothing twice.
        if (const auto found = booked.find(request.ticket_hold_id); found != booked.end()) {
            co_return found->second;
        }
        accounting::BookResult result;
        result.got_ticket = tickets_left > 0;
        if (result.got_ticket) tickets_left--;
        result.got_goodie = result.got_ticket && request.goodie_held && goodies_left > 0;
        if (result.got_goodie) goodies_left--;
        booked[request.ticket_hold_id] = result;
        co_return result;
    }
    asio::awaitable<Status> cancel(TicketClass, u128 ticket, u128 goodie) override {
        if (auto fault = take_fault()) co_return *fault;
        for (u128 id : {ticket, goodie}) {
            if (id != 0 && held.erase(id)) voided.insert(id);
        }
        co_return done();
    }
    asio::awaitable<Result<accounting::Inventory>> inventory() override {
        co_return accounting::Inventory{};
    }
    // Ticket holds only (goodies are not tracked by class here), posted ones as posted.
    asio::awaitable<Result<std::vector<accounting::LedgerEntry>>> entries() override {
        if (auto fault = take_fault()) co_return *fault;
        co_return ticket_entries();
    }
    asio::awaitable<bool> healthy() override { co_return true; }
    asio::awaitable<void> stop() override { co_return; }

    std::vector<accounting::LedgerEntry> ticket_entries() const {
        std::vector<accounting::LedgerEntry> all;
        for (const auto& [id, cls] : class_of) {
            accounting::LedgerEntry entry;
            entry.transfer_id = id;
            entry.order_id = order_of.at(id);
            entry.resource = resource_of(cls);
            if (const auto at = posted_at_us.find(id); at != posted_at_us.end()) {
                entry.resolved_at_us = at->second;
            }
            entry.state = posted.count(id)    ? accounting::EntryState::posted
                          : voided.count(id)  ? accounting::EntryState::voided
                          : expired.count(id) ? accounting::EntryState::expired
                                              : accounting::EntryState::pending;
            all.push_back(entry);
        }
        return all;
    }

private:
    std::optional<Fault> take_fault() { return std::exchange(fail_next, std::nullopt); }
    bool take(std::uint64_t& left, u128 id) {
        if (left == 0) return false;
        left--;
        held.insert(id);
        return true;
    }
    Resolution post(u128 id) {
        if (posted.count(id)) return Resolution::done;
        if (voided.count(id)) return Resolution::conflict;
        if (expired.count(id)) return Resolution::expired;
        if (!held.erase(id)) return Resolution::not_found;
        posted.insert(id);
        posted_at_us[id] = unix_now_us();
        return Resolution::done;
    }
};

// The gate of each session as the real stores keep it: a lease (token) or done (status).
// Expiry is simulated by expire_leases().
class FakeSessions final : public sessions::SessionStore {
public:
    struct GateRow {
        std::string token;
        std::string done_status;
    };
    std::map<std::string, sessions::PaymentSession> saved;
    std::map<std::string, GateRow> gates;
    std::set<std::string> unlisted;
    std::optional<Fault> fail_save;
    std::optional<Fault> fail_finish;

    void expire_leases() {
        std::erase_if(gates, [](const auto& gate) { return gate.second.done_status.empty(); });
    }

    std::string_view backend_name() const override { return "fake"; }
    asio::awaitable<Status> start() override { co_return done(); }
    asio::awaitable<Status> save(const sessions::PaymentSession& session, std::uint32_t) override {
        if (fail_save) co_return *fail_save;
        saved[session.psid] = session;
        co_return done();
    }
    asio::awaitable<Result<std::optional<sessions::PaymentSession>>> find(
        std::string_view psid) override {
        const auto found = saved.find(std::string(psid));
        if (found == saved.end()) co_return std::optional<sessions::PaymentSession>();
        co_return std::optional<sessions::PaymentSession>(found->second);
    }
    asio::awaitable<Result<sessions::GateAnswer>> take_lease(std::string_view psid,
                                                             std::string_view token, std::uint32_t,
                                                             bool payment) override {
        GateRow& gate = gates[std::string(psid)];
        const bool free = gate.token.empty() && gate.done_status.empty();
        if (free || (payment && sessions::is_unpaid_mark(gate.done_status))) {
            gate = GateRow{std::string(token), ""};
            co_return sessions::GateAnswer{sessions::GateState::leased, {}};
        }
        if (gate.done_status.empty()) co_return sessions::GateAnswer{sessions::GateState::busy, {}};
        co_return sessions::GateAnswer{sessions::GateState::done, gate.done_status};
    }
    asio::awaitable<Status> finish_gate(std::string_view psid, std::string_view status) override {
        if (auto fault = std::exchange(fail_finish, std::nullopt)) co_return *fault;
        GateRow& gate = gates[std::string(psid)];
        const bool paid_mark =
            !gate.done_status.empty() && !sessions::is_unpaid_mark(gate.done_status);
        if (paid_mark && sessions::is_unpaid_mark(status)) co_return done();
        gate = GateRow{"", std::string(status)};
        co_return done();
    }
    asio::awaitable<Status> release_lease(std::string_view psid, std::string_view token) override {
        const auto gate = gates.find(std::string(psid));
        if (gate != gates.end() && gate->second.token == token) gates.erase(gate);
        co_return done();
    }
    asio::awaitable<Status> remove(std::string_view psid) override {
        saved.erase(std::string(psid));
        co_return done();
    }
    asio::awaitable<Status> unlist(std::string_view psid) override {
        unlisted.insert(std::string(psid));
        co_return done();
    }
    asio::awaitable<Result<sessions::PendingList>> recent(std::size_t) override {
        co_return sessions::PendingList{};
    }
    asio::awaitable<bool> healthy() override { co_return true; }
    asio::awaitable<void> stop() override { co_return; }
};

// What a kill -9 at that point leaves behind: the coroutine never resumes past it.
struct ProcessDied {};

class FakeOrders final : public orders::OrderStore {
public:
    std::map<std::string, orders::Order> rows;
    std::optional<Fault> fail_insert;
    bool die_after_insert = false;  // The row commits, then the process dies.

    asio::awaitable<Status> start() override { co_return done(); }
    asio::awaitable<Result<orders::OrderStatus>> insert(orders::Order order) override {
        if (auto fault = std::exchange(fail_insert, std::nullopt)) co_return *fault;
        auto [stored, added] = rows.try_emplace(order.id, order);
        if (!added && orders::may_replace(stored->second.status, order.status)) {
            stored->second = std::move(order);
        }
        if (std::exchange(die_after_insert, false)) throw ProcessDied{};
        co_return stored->second.status;
    }
    asio::awaitable<Result<std::optional<orders::Order>>> find(std::string_view id) override {
        const auto found = rows.find(std::string(id));
        if (found == rows.end()) co_return std::optional<orders::Order>();
        co_return std::optional<orders::Order>(found->second);
    }
    asio::awaitable<Result<std::vector<orders::Order>>> recent(std::size_t) override {
        co_return std::vector<orders::Order>{};
    }
    asio::awaitable<Result<std::vector<orders::Order>>> find_many(
        std::vector<std::string> ids) override {
        std::vector<orders::Order> found;
        for (const std::string& id : ids) {
            if (const auto row = rows.find(id); row != rows.end()) found.push_back(row->second);
        }
        co_return found;
    }
    asio::awaitable<Result<std::vector<orders::Order>>> with_status(orders::OrderStatus status,
                                                                    std::string after_id,
                                                                    std::size_t limit) override {
        std::vector<orders::Order> page;
        for (auto row = rows.upper_bound(after_id); row != rows.end(); ++row) {
            if (page.size() == limit) break;
            if (row->second.status == status) page.push_back(row->second);
        }
        co_return page;
    }
    asio::awaitable<bool> healthy() override { co_return true; }
    asio::awaitable<void> stop() override { co_return; }
};

class FlowFixture : public ::testing::Test {
protected:
    FlowFixture()
        : config(config::load([](std::string_view) { return std::nullopt; }).config),
          timings(registry),
          services{config, ledger, sessions, orders, ids, timings, registry} {}

    CheckoutOutcome buy(TicketClass cls = TicketClass::a) {
        return testing::run_async(io, [&] {
            return checkout(services, CheckoutRequest{cls, "fan@example.com"});
        });
    }

    WebhookOutcome pay(const std::string& psid, PaymentOutcome outcome, std::string key) {
        return testing::run_async(io, [&] {
            return handle_webhook(services, WebhookEvent{outcome, psid, std::move(key)});
        });
    }

    // A delivery whose process dies right after its order committed; its lease then expires.
    void die_after_the_order_commits(const std::string& psid, PaymentOutcome outcome) {
        orders.die_after_insert = true;
        EXPECT_THROW(pay(psid, outcome, "evt_dead"), ProcessDied);
        sessions.expire_leases();
    }

    asio::io_context io;
    config::Config config;
    metrics::Registry registry;
    Timings timings;
    IdGenerator ids;
    FakeLedger ledger;
    FakeSessions sessions;
    FakeOrders orders;
    Services services;
};

}  // namespace tigerfans::flows::testing_fakes

// In-memory test doubles of the three stores the flows use, and a fixture that wires them
// into Services: what the flow tests and the reconciler tests share. Every call on the doubles
// goes through one CallPlan, which counts the calls across all three, fails the n-th one (or
// the next of a given name), can lose the n-th one's reply after it took effect, and can kill
// the "process" right after the n-th one took effect.
// The session double can also hold its removals until released (a store slow to drop sessions),
// and the ledger double its holds (a hold still on its way).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/run_async.hpp"
#include "tigerfans/config/config.hpp"
#include "tigerfans/core/background_tasks.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/u128.hpp"
#include "tigerfans/flows/checkout.hpp"
#include "tigerfans/flows/services.hpp"
#include "tigerfans/flows/webhook.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::flows::testing_fakes {

using accounting::Resolution;

// What a kill -9 at that point leaves behind: the coroutine never resumes past it.
struct ProcessDied {};

// What a call of the doubles answers: its value, or a fault instead.
template <typename T>
struct AsResult {
    using type = Result<T>;
};
template <typename T>
struct AsResult<Result<T>> {
    using type = Result<T>;
};

// The calls made on the doubles, in order, shared by all three. Arming is relative to the
// calls made so far: fail_nth(1) fails the very next call, whichever store it goes to.
class CallPlan {
public:
    void fail_nth(std::size_t n, Fault fault = Fault::unavailable) {
        fail_at_ = made_ + n;
        fault_ = fault;
    }
    // Fails the next call named `name` ("sessions.save", "orders.insert", ...).
    void fail_next(std::string name, Fault fault = Fault::unavailable) {
        fail_name_ = std::move(name);
        fault_ = fault;
    }
    // The n-th call from now (or the next named `name`) takes effect, then the process dies:
    // ProcessDied is thrown out of the flow.
    void die_after_nth(std::size_t n) { die_at_ = made_ + n; }
    void die_after_next(std::string name) { die_name_ = std::move(name); }
    // The n-th call from now takes effect, then answers `fault`: its reply was lost.
    void lose_reply_of_nth(std::size_t n, Fault fault = Fault::unavailable) {
        lose_at_ = made_ + n;
        fault_ = fault;
    }
    void disarm() {
        fail_at_ = die_at_ = lose_at_ = 0;
        fail_name_.clear();
        die_name_.clear();
    }
    bool armed() const {
        return fail_at_ != 0 || die_at_ != 0 || lose_at_ != 0 || !fail_name_.empty() ||
               !die_name_.empty();
    }

    std::size_t made() const { return made_; }
    const std::string& last_made() const { return log_.back(); }
    const std::string& last_failed() const { return last_failed_; }
    // The names of the calls made since `first` (a value of made()), for failure messages.
    std::string names_since(std::size_t first) const {
        std::string names;
        for (std::size_t i = first; i < log_.size(); i++) names += log_[i] + " ";
        return names;
    }

    // The start of each call: the fault to answer instead, when this call is the one to fail.
    std::optional<Fault> enter(std::string_view name) {
        made_++;
        log_.emplace_back(name);
        const bool nth = made_ == fail_at_;
        const bool named = !fail_name_.empty() && name == fail_name_;
        if (!nth && !named) return std::nullopt;
        if (nth) fail_at_ = 0;
        if (named) fail_name_.clear();
        last_failed_ = std::string(name);
        return fault_;
    }
    // The end of each call that took effect: what it answers. The doubles never suspend (but
    // for held holds, which no test combines with a planned death or a lost reply), so the
    // call that entered last is the one leaving.
    template <typename T>
    typename AsResult<T>::type leave(T value) {
        const bool nth = die_at_ != 0 && made_ == die_at_;
        const bool named = !die_name_.empty() && log_.back() == die_name_;
        if (nth || named) {
            if (nth) die_at_ = 0;
            if (named) die_name_.clear();
            throw ProcessDied{};
        }
        if (lose_at_ == 0 || made_ != lose_at_) return value;
        lose_at_ = 0;
        last_failed_ = log_.back();
        return fault_;
    }

private:
    std::size_t made_ = 0;
    std::size_t fail_at_ = 0;  // 0: no call is to fail by its number.
    std::size_t die_at_ = 0;
    std::size_t lose_at_ = 0;
    std::string fail_name_;
    std::string die_name_;
    Fault fault_ = Fault::unavailable;
    std::string last_failed_;
    std::vector<std::string> log_;
};

// Calls that, from hold() until release(), wait before they take effect: a store slow to
// answer them.
class HeldCalls {
public:
    void hold(asio::any_io_executor executor) {
        timer_.emplace(std::move(executor), asio::steady_timer::time_point::max());
    }
    void release() {
        if (!timer_) return;
        timer_->cancel();
        timer_.reset();
    }
    asio::awaitable<void> wait() {
        if (!timer_) co_return;
        boost::system::error_code released;
        co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, released));
    }

private:
    std::optional<asio::steady_timer> timer_;
};

// Holds are held or not; expiry is simulated by flipping `expired`. Holds can be made to wait
// (hold_holds) before they take effect: a hold still on its way.
class FakeLedger final : public accounting::Ledger {
public:
    explicit FakeLedger(CallPlan& calls) : calls_(calls) {}

    std::uint64_t tickets_left = 10;
    std::uint64_t goodies_left = 10;
    std::set<u128> held, posted, voided, expired;
    std::map<u128, accounting::BookResult> booked;  // Late bookings by ticket hold id.
    std::map<u128, u128> order_of;                  // Hold id -> the order id it carries.
    std::map<u128, TicketClass> class_of;           // Ticket hold id -> its class.
    std::map<u128, std::int64_t> posted_at_us;      // Ticket hold id -> when it was posted.
    std::map<u128, u128> goodie_of;                 // Ticket hold id -> its held goodie's.
    // Holds the entries read as expired while the ledger still holds them: a reader's clock
    // ahead of the ledger's.
    std::set<u128> reads_expired;

    std::string_view backend_name() const override { return "fake"; }
    asio::awaitable<Status> start() override { co_return done(); }
    asio::awaitable<Status> attach() override { co_return done(); }
    // From now until release_holds(), hold() is made but waits before it takes effect.
    void hold_holds(asio::any_io_executor executor) { holds_held_.hold(std::move(executor)); }
    void release_holds() { holds_held_.release(); }

    asio::awaitable<Result<accounting::HoldResult>> hold(accounting::HoldRequest request) override {
        if (auto fault = calls_.enter("ledger.hold")) co_return *fault;
        co_await holds_held_.wait();
        accounting::HoldResult result;
        order_of[request.ticket_hold_id] = request.order_id;
        class_of[request.ticket_hold_id] = request.cls;
        result.ticket_held = take(tickets_left, request.ticket_hold_id);
        result.goodie_held = result.ticket_held && take(goodies_left, request.goodie_hold_id);
        if (result.goodie_held) goodie_of[request.ticket_hold_id] = request.goodie_hold_id;
        co_return calls_.leave(result);
    }
    asio::awaitable<Result<accounting::CommitResult>> commit(
        accounting::CommitRequest request) override {
        if (auto fault = calls_.enter("ledger.commit")) co_return *fault;
        accounting::CommitResult result;
        result.ticket = post(request.ticket_hold_id);
        if (request.goodie_held) result.goodie = post(request.goodie_hold_id);
        co_return calls_.leave(result);
    }
    asio::awaitable<Result<accounting::BookResult>> book_late(
        accounting::CommitRequest request) override {
        if (auto fault = calls_.enter("ledger.book_late")) co_return *fault;
        // Idempotent by the derived id, as in the real ledgers: a retry books nothing twice.
        if (const auto found = booked.find(request.ticket_hold_id); found != booked.end()) {
            co_return calls_.leave(found->second);
        }
        accounting::BookResult result;
        result.got_ticket = tickets_left > 0;
        if (result.got_ticket) tickets_left--;
        result.got_goodie = result.got_ticket && request.goodie_held && goodies_left > 0;
        if (result.got_goodie) goodies_left--;
        booked[request.ticket_hold_id] = result;
        co_return calls_.leave(result);
    }
    asio::awaitable<Status> cancel(TicketClass, u128 ticket, u128 goodie) override {
        if (auto fault = calls_.enter("ledger.cancel")) co_return *fault;
        for (u128 id : {ticket, goodie}) {
            if (id != 0 && held.erase(id)) voided.insert(id);
        }
        co_return calls_.leave(done());
    }
    asio::awaitable<Result<accounting::Inventory>> inventory() override {
        if (auto fault = calls_.enter("ledger.inventory")) co_return *fault;
        const accounting::Inventory none;
        co_return calls_.leave(none);
    }
    // Ticket holds only (goodies are not tracked by class here), posted ones as posted.
    asio::awaitable<Result<std::vector<accounting::LedgerEntry>>> entries() override {
        if (auto fault = calls_.enter("ledger.entries")) co_return *fault;
        co_return calls_.leave(ticket_entries());
    }
    asio::awaitable<Result<std::vector<accounting::LedgerEntry>>> entries_of(
        u128 order_id) override {
        if (auto fault = calls_.enter("ledger.entries_of")) co_return *fault;
        std::vector<accounting::LedgerEntry> found = ticket_entries();
        std::erase_if(found, [order_id](const auto& entry) { return entry.order_id != order_id; });
        const std::size_t tickets = found.size();
        for (std::size_t i = 0; i < tickets; i++) {
            const auto goodie = goodie_of.find(found[i].transfer_id);
            if (goodie == goodie_of.end()) continue;
            accounting::LedgerEntry entry = found[i];
            entry.transfer_id = goodie->second;
            entry.resource = Resource::goodies;
            entry.state = state_of(goodie->second);
            found.push_back(entry);
        }
        co_return calls_.leave(found);
    }
    accounting::SeatLedger* seats() override { return nullptr; }
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
            entry.state = state_of(id);
            all.push_back(entry);
        }
        return all;
    }

    accounting::EntryState state_of(u128 id) const {
        return posted.count(id)                               ? accounting::EntryState::posted
               : voided.count(id)                             ? accounting::EntryState::voided
               : expired.count(id) || reads_expired.count(id) ? accounting::EntryState::expired
                                                              : accounting::EntryState::pending;
    }

    // What the ledger does by itself when a hold's timeout passes.
    void expire(u128 id) {
        if (held.erase(id)) expired.insert(id);
    }

private:
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

    CallPlan& calls_;
    HeldCalls holds_held_;
};

// The gate of each session as the real stores keep it: a lease (token) or done (status).
// Expiry is simulated by expire_leases().
class FakeSessions final : public sessions::SessionStore {
public:
    explicit FakeSessions(CallPlan& calls) : calls_(calls) {}

    struct GateRow {
        std::string token;
        std::string done_status;
    };
    std::map<std::string, sessions::PaymentSession> saved;
    std::map<std::string, GateRow> gates;
    std::set<std::string> unlisted;
    // Runs once, as the next find() starts: what another process does between a take and a
    // lookup.
    std::function<void()> before_find;
    // Checkout keys by key id: claimed (status 0) or done with the answer.
    struct KeyRow {
        sessions::KeyClaim claim;
        unsigned status = 0;
        std::string body;
    };
    std::map<std::string, KeyRow> keys;
    // The ticket slots of each email: order id -> paid. Time running out is simulated by
    // expire_email_slots().
    std::map<std::string, std::map<std::string, bool>> email_slots;

    void expire_leases() {
        std::erase_if(gates, [](const auto& gate) { return gate.second.done_status.empty(); });
    }
    void expire_claims() {
        std::erase_if(keys, [](const auto& key) { return key.second.status == 0; });
    }
    void expire_email_slots() {
        for (auto& [email, slots] : email_slots) {
            std::erase_if(slots, [](const auto& slot) { return !slot.second; });
        }
    }
    std::size_t slots_of(const std::string& email) const {
        const auto found = email_slots.find(email);
        return found == email_slots.end() ? 0 : found->second.size();
    }
    bool lease_held() const {
        return std::any_of(gates.begin(), gates.end(),
                           [](const auto& gate) { return !gate.second.token.empty(); });
    }

    std::string_view backend_name() const override { return "fake"; }
    asio::awaitable<Status> start() override { co_return done(); }
    asio::awaitable<Status> save(const sessions::PaymentSession& session, std::uint32_t) override {
        if (auto fault = calls_.enter("sessions.save")) co_return *fault;
        saved[session.psid] = session;
        unlisted.erase(session.psid);  // A save lists the session, as the stores do.
        co_return calls_.leave(done());
    }
    asio::awaitable<Status> correct_goodie(std::string_view psid, bool goodie_held) override {
        if (auto fault = calls_.enter("sessions.correct_goodie")) co_return *fault;
        if (const auto found = saved.find(std::string(psid)); found != saved.end()) {
            found->second.goodie_held = goodie_held;
        }
        co_return calls_.leave(done());
    }
    asio::awaitable<Result<std::optional<sessions::PaymentSession>>> find(
        std::string_view psid) override {
        if (before_find) std::exchange(before_find, nullptr)();
        if (auto fault = calls_.enter("sessions.find")) co_return *fault;
        std::optional<sessions::PaymentSession> session;
        if (const auto found = saved.find(std::string(psid)); found != saved.end()) {
            session = found->second;
        }
        co_return calls_.leave(session);
    }
    asio::awaitable<Result<sessions::GateAnswer>> take_lease(std::string_view psid,
                                                             std::string_view token, std::uint32_t,
                                                             bool payment) override {
        if (auto fault = calls_.enter("sessions.take_lease")) co_return *fault;
        co_return calls_.leave(gate_answer(psid, token, payment));
    }
    asio::awaitable<Status> finish_gate(std::string_view psid, std::string_view status) override {
        if (auto fault = calls_.enter("sessions.finish_gate")) co_return *fault;
        GateRow& gate = gates[std::string(psid)];
        const bool paid_mark =
            !gate.done_status.empty() && !sessions::is_unpaid_mark(gate.done_status);
        if (!(paid_mark && sessions::is_unpaid_mark(status))) {
            gate = GateRow{"", std::string(status)};
        }
        if (sessions::is_unpaid_mark(status)) {
            unlisted.insert(std::string(psid));
        } else {
            saved.erase(std::string(psid));
        }
        co_return calls_.leave(done());
    }
    asio::awaitable<Status> release_lease(std::string_view psid, std::string_view token) override {
        if (auto fault = calls_.enter("sessions.release_lease")) co_return *fault;
        const auto gate = gates.find(std::string(psid));
        if (gate != gates.end() && gate->second.token == token) gates.erase(gate);
        co_return calls_.leave(done());
    }
    asio::awaitable<Result<sessions::KeyAnswer>> claim_key(const sessions::KeyClaim& claim,
                                                           std::uint32_t) override {
        if (auto fault = calls_.enter("sessions.claim_key")) co_return *fault;
        const auto [record, claimed] = keys.try_emplace(claim.key_id, KeyRow{claim, 0, {}});
        sessions::KeyAnswer answer;
        answer.state = claimed ? sessions::KeyState::claimed : sessions::KeyState::busy;
        if (!claimed) answer.fingerprint = record->second.claim.fingerprint;
        if (!claimed && record->second.status != 0) {
            answer.state = sessions::KeyState::done;
            answer.status = record->second.status;
            answer.body = record->second.body;
        }
        co_return calls_.leave(answer);
    }
    asio::awaitable<Status> finish_key(const sessions::KeyClaim& claim, unsigned status,
                                       std::string_view body, std::uint32_t) override {
        if (auto fault = calls_.enter("sessions.finish_key")) co_return *fault;
        const auto record = keys.find(claim.key_id);
        if (record != keys.end() && record->second.claim.token == claim.token) {
            record->second = KeyRow{claim, status, std::string(body)};
        }
        co_return calls_.leave(done());
    }
    asio::awaitable<Status> release_key(const sessions::KeyClaim& claim) override {
        if (auto fault = calls_.enter("sessions.release_key")) co_return *fault;
        const auto record = keys.find(claim.key_id);
        if (record != keys.end() && record->second.claim.token == claim.token) keys.erase(record);
        co_return calls_.leave(done());
    }
    asio::awaitable<Status> remove(std::string_view psid) override {
        if (auto fault = calls_.enter("sessions.remove")) co_return *fault;
        saved.erase(std::string(psid));
        co_return calls_.leave(done());
    }
    asio::awaitable<Result<sessions::PendingList>> recent(std::size_t) override {
        if (auto fault = calls_.enter("sessions.recent")) co_return *fault;
        const sessions::PendingList none;
        co_return calls_.leave(none);
    }
    asio::awaitable<Result<bool>> claim_email_slot(std::string_view email,
                                                   std::string_view order_id, std::uint64_t,
                                                   std::uint32_t limit) override {
        if (auto fault = calls_.enter("sessions.claim_email_slot")) co_return *fault;
        auto& slots = email_slots[std::string(email)];
        const bool claimed = slots.count(std::string(order_id)) || slots.size() < limit;
        if (claimed) slots.try_emplace(std::string(order_id), false);
        co_return calls_.leave(claimed);
    }
    asio::awaitable<Status> settle_email_slot(std::string_view email, std::string_view order_id,
                                              bool paid) override {
        if (auto fault = calls_.enter("sessions.settle_email_slot")) co_return *fault;
        auto& slots = email_slots[std::string(email)];
        if (paid) slots[std::string(order_id)] = true;
        // As in the real stores, a paid slot is never freed.
        if (const auto slot = slots.find(std::string(order_id));
            !paid && slot != slots.end() && !slot->second) {
            slots.erase(slot);
        }
        co_return calls_.leave(done());
    }
    asio::awaitable<bool> healthy() override { co_return true; }
    asio::awaitable<void> stop() override { co_return; }

private:
    sessions::GateAnswer gate_answer(std::string_view psid, std::string_view token, bool payment) {
        GateRow& gate = gates[std::string(psid)];
        const bool free = gate.token.empty() && gate.done_status.empty();
        if (free || (payment && sessions::is_unpaid_mark(gate.done_status))) {
            gate = GateRow{std::string(token), ""};
            return sessions::GateAnswer{sessions::GateState::leased, {}};
        }
        if (gate.done_status.empty()) return sessions::GateAnswer{sessions::GateState::busy, {}};
        return sessions::GateAnswer{sessions::GateState::done, gate.done_status};
    }

    CallPlan& calls_;
};

class FakeOrders final : public orders::OrderStore {
public:
    explicit FakeOrders(CallPlan& calls) : calls_(calls) {}

    std::map<std::string, orders::Order> rows;
    std::vector<orders::DuplicatePayment> duplicates;  // Oldest first.
    bool keeps_first_row = false;  // A broken store: a paid order never replaces an unpaid row.

    // A payment of a stored paid row: its key when the row has none, else, under another key,
    // a duplicate (once per key).
    void keep_payment(orders::Order& stored, const orders::Order& payment) {
        if (!orders::is_paid(stored.status) || !orders::is_paid(payment.status)) return;
        if (payment.payment_key.empty() || payment.payment_key == stored.payment_key) return;
        if (stored.payment_key.empty()) {
            stored.payment_key = payment.payment_key;
            return;
        }
        for (const auto& duplicate : duplicates) {
            if (duplicate.payment_key == payment.payment_key) return;
        }
        duplicates.push_back({payment.payment_key, payment.id, stored.payment_key,
                              payment.amount_cents, payment.currency, payment.customer_email, 0});
    }

    asio::awaitable<Status> start() override { co_return done(); }
    asio::awaitable<Result<orders::OrderStatus>> insert(orders::Order order) override {
        if (auto fault = calls_.enter("orders.insert")) co_return *fault;
        auto [stored, added] = rows.try_emplace(order.id, order);
        const bool replace =
            !keeps_first_row && orders::may_replace(stored->second.status, order.status);
        if (!added && replace) {
            stored->second = std::move(order);
        } else if (!added) {
            keep_payment(stored->second, order);
        }
        co_return calls_.leave(stored->second.status);
    }
    asio::awaitable<Result<std::vector<orders::DuplicatePayment>>> duplicate_payments(
        std::size_t) override {
        if (auto fault = calls_.enter("orders.duplicate_payments")) co_return *fault;
        co_return calls_.leave(duplicates);
    }
    asio::awaitable<Result<std::optional<orders::Order>>> find(std::string_view id) override {
        if (auto fault = calls_.enter("orders.find")) co_return *fault;
        std::optional<orders::Order> order;
        if (const auto found = rows.find(std::string(id)); found != rows.end()) {
            order = found->second;
        }
        co_return calls_.leave(order);
    }
    asio::awaitable<Result<std::vector<orders::Order>>> recent(std::size_t) override {
        if (auto fault = calls_.enter("orders.recent")) co_return *fault;
        const std::vector<orders::Order> none;
        co_return calls_.leave(none);
    }
    asio::awaitable<Result<std::vector<orders::Order>>> find_many(
        std::vector<std::string> ids) override {
        if (auto fault = calls_.enter("orders.find_many")) co_return *fault;
        std::vector<orders::Order> found;
        for (const std::string& id : ids) {
            if (const auto row = rows.find(id); row != rows.end()) found.push_back(row->second);
        }
        co_return calls_.leave(found);
    }
    asio::awaitable<Result<std::vector<orders::Order>>> with_status(orders::OrderStatus status,
                                                                    std::string after_id,
                                                                    std::size_t limit) override {
        if (auto fault = calls_.enter("orders.with_status")) co_return *fault;
        std::vector<orders::Order> page;
        for (auto row = rows.upper_bound(after_id); row != rows.end(); ++row) {
            if (page.size() == limit) break;
            if (row->second.status == status) page.push_back(row->second);
        }
        co_return calls_.leave(page);
    }
    asio::awaitable<bool> healthy() override { co_return true; }
    asio::awaitable<void> stop() override { co_return; }

private:
    CallPlan& calls_;
};

// Two rows of eight seats: the front row's category at 95 euros, the back row's at 45.
inline seating::Venue small_venue() {
    seating::Venue venue;
    venue.categories = {{"front", "Front", 9'500}, {"back", "Back", 4'500}};
    venue.rows.resize(2);
    venue.rows[0].first_seat = 0;
    venue.rows[0].seat_count = 8;
    venue.rows[0].category = 0;
    venue.rows[1].first_seat = 8;
    venue.rows[1].seat_count = 8;
    venue.rows[1].category = 1;
    venue.seat_count = 16;
    return venue;
}

class FlowFixture : public ::testing::Test {
protected:
    FlowFixture()
        : config(config::load([](std::string_view) { return std::nullopt; }).config),
          timings(registry),
          services{config, ledger, sessions, orders, ids, outlook, timings, registry, nullptr} {}

    // No checkout whose holds a test held back outlives the test.
    ~FlowFixture() override {
        ledger.release_holds();
        run_ready();
    }

    // A checkout of a fan of its own (no email limit in the way).
    CheckoutOutcome buy(TicketClass cls = TicketClass::a) {
        fans_++;
        return buy_as("fan" + std::to_string(fans_) + "@example.com", cls);
    }

    CheckoutOutcome buy_as(const std::string& email, TicketClass cls = TicketClass::a) {
        return testing::run_async(io, [&] {
            return checkout(services, CheckoutRequest{cls, email});
        });
    }

    // One delivery; `order`, what the event says of its order (none by default).
    WebhookOutcome pay(const std::string& psid, PaymentOutcome outcome, std::string key,
                       std::optional<EventOrder> order = std::nullopt) {
        return testing::run_async(io, [&] {
            return handle_webhook(services,
                                  WebhookEvent{outcome, psid, std::move(key), std::move(order)});
        });
    }

    // Runs what is ready on the loop, and nothing that waits (a held hold).
    void run_ready() {
        io.restart();
        io.poll();
    }

    // A delivery whose process dies right after its order committed; its lease then expires.
    void die_after_the_order_commits(const std::string& psid, PaymentOutcome outcome) {
        calls.die_after_next("orders.insert");
        EXPECT_THROW(pay(psid, outcome, "evt_dead"), ProcessDied);
        sessions.expire_leases();
    }

    // Holds the ledger keeps open that no saved session names: nothing would ever post or
    // void them, they could only expire.
    std::vector<u128> orphan_holds() const {
        std::set<u128> named;
        for (const auto& [psid, session] : sessions.saved) {
            named.insert(session.ticket_hold_id);
            if (session.goodie_held) named.insert(session.goodie_hold_id);
        }
        std::vector<u128> orphans;
        for (const u128 id : ledger.held) {
            if (!named.count(id)) orphans.push_back(id);
        }
        return orphans;
    }

    // Every stored order is whole: its class's price, a paid time exactly when paid, a ticket
    // code exactly when a ticket was booked (PAID), and a done gate never disagrees with it.
    void expect_orders_whole() const {
        for (const auto& [id, order] : orders.rows) {
            SCOPED_TRACE("order " + id);
            EXPECT_TRUE(orders::is_valid_order_id(order.id));
            EXPECT_EQ(order.amount_cents, price_cents(order.cls) * ticket_quantity);
            EXPECT_EQ(order.currency, currency);
            EXPECT_EQ(order.paid_at_us.has_value(), orders::is_paid(order.status));
            EXPECT_EQ(!order.ticket_code.empty(), order.status == orders::OrderStatus::paid);
        }
    }

    // Lets the flows retry an undo whose store call failed (services.background), and runs
    // the loop until every retry has ended.
    void retry_undos() { services.background = &background; }
    void drain_background() {
        testing::run_async(io, [&]() -> asio::awaitable<bool> {
            co_await background.drain();
            co_return true;
        });
    }

    asio::io_context io;
    BackgroundTasks background{io.get_executor(), 64};
    config::Config config;
    metrics::Registry registry;
    Timings timings;
    IdGenerator ids;
    HoldOutlook outlook;
    CallPlan calls;
    FakeLedger ledger{calls};
    FakeSessions sessions{calls};
    FakeOrders orders{calls};
    Services services;
    int fans_ = 0;  // The fans buy() has made up.
};

}  // namespace tigerfans::flows::testing_fakes

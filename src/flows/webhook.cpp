// The webhook flow.
#include "tigerfans/flows/webhook.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <optional>
#include <utility>

#include "flows/seat_settle.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/crash_points.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/flows/email_limit.hpp"

namespace tigerfans::flows {

namespace {
orders::Order order_from(const sessions::PaymentSession& session) {
    // The order keeps the amount the session charged, even when a later release of the program
    // prices the class differently (sessions outlive a restart), so no check against today's
    // price here: checkout asserts it where the session is priced.
    orders::Order order;
    order.id = session.order_id;
    order.ticket_transfer_id = session.ticket_hold_id;
    order.goodie_transfer_id = session.goodie_hold_id;
    order.try_goodie = session.goodie_held;
    order.cls = session.cls;
    order.qty = ticket_quantity;
    order.amount_cents = session.amount_cents;
    order.currency = session.currency;
    order.customer_email = session.customer_email;
    order.created_at_us = session.created_at_us;
    order.seats = session.seats;
    return order;
}

accounting::CommitRequest commit_request(const sessions::PaymentSession& session) {
    TF_ASSERT(session.ticket_hold_id != 0);  // Checkout names the hold ids in every session.
    // Checkout writes 32 hex digits; anything else books without an order id (0), which the
    // reconciler then reports as a ticket without an order.
    const std::optional<u128> order_id = parse_order_id(session.order_id);
    return {session.cls, session.ticket_hold_id, session.goodie_hold_id, session.goodie_held,
            order_id.value_or(0)};
}

// Posts the holds; when the ticket hold is gone (expired), books at once if anything is left.
asio::awaitable<Result<orders::Order>> settle_success(Services& services,
                                                      const sessions::PaymentSession& session) {
    orders::Order order = order_from(session);
    auto committed = co_await timed(services.timings.accounting_commit,
                                    services.ledger.commit(commit_request(session)));
    if (!committed) co_return committed.fault();
    bool got_ticket = committed->ticket == accounting::Resolution::done;
    order.got_goodie = session.goodie_held && committed->goodie == accounting::Resolution::done;
    // A hold voided by a failure or cancel of this session (`conflict`) gave its ticket back
    // on purpose: the payment is recorded, unfulfilled, and refunded. Only a hold that timed
    // out (or never came to be) is made good by booking at once.
    const bool voided = committed->ticket == accounting::Resolution::conflict;
    if (!got_ticket && !voided) {
        // A late booking is for a hold that timed out or never came to be, never a voided one.
        TF_ASSERT(committed->ticket == accounting::Resolution::expired ||
                  committed->ticket == accounting::Resolution::not_found);
        accounting::CommitRequest late = commit_request(session);
        late.goodie_held = !order.got_goodie;  // Ask for a goodie only if none was posted.
        auto booked =
            co_await timed(services.timings.accounting_book_late, services.ledger.book_late(late));
        if (!booked) co_return booked.fault();
        got_ticket = booked->got_ticket;
        if (got_ticket) {
            order.ticket_transfer_id = derive_id(session.ticket_hold_id, Derivation::late_booking);
        }
        if (booked->got_goodie && !order.got_goodie) {
            order.got_goodie = true;
            order.goodie_transfer_id = derive_id(session.goodie_hold_id, Derivation::late_booking);
        }
    }
    order.status = got_ticket ? orders::OrderStatus::paid : orders::OrderStatus::paid_unfulfilled;
    order.paid_at_us = unix_now_us();
    if (got_ticket) order.ticket_code = new_ticket_code();
    TF_ASSERT(orders::is_paid(order.status));
    co_return order;
}

asio::awaitable<Result<orders::Order>> settle_failure(Services& services,
                                                      const sessions::PaymentSession& session,
                                                      PaymentOutcome outcome) {
    TF_ASSERT_NE(outcome, PaymentOutcome::succeeded);
    TF_ASSERT(session.ticket_hold_id != 0);
    const u128 goodie = session.goodie_held ? session.goodie_hold_id : 0;
    Status voided =
        co_await timed(services.timings.accounting_cancel,
                       services.ledger.cancel(session.cls, session.ticket_hold_id, goodie));
    if (!voided) co_return voided.fault();
    orders::Order order = order_from(session);
    order.status = outcome == PaymentOutcome::failed ? orders::OrderStatus::failed
                                                     : orders::OrderStatus::canceled;
    TF_ASSERT(order.ticket_code.empty() && !order.paid_at_us);
    co_return order;
}

asio::awaitable<Result<orders::Order>> settle(Services& services,
                                              const sessions::PaymentSession& session,
                                              PaymentOutcome outcome) {
    if (!session.seats.empty()) {
        orders::Order order = order_from(session);  // Apart from the co_await: GCC 12.
        co_return co_await settle_seats(services, session, outcome, std::move(order));
    }
    if (outcome == PaymentOutcome::succeeded) co_return co_await settle_success(services, session);
    co_return co_await settle_failure(services, session, outcome);
}

// Settles and records the order; this delivery holds the session's lease. Every step is
// idempotent by id (derived transfer ids, the order id as the row's key), so a delivery that
// takes over the lease of one that died here finishes the same work exactly once. The answer
// is the stored order's status, which is the one this delivery computed unless another got
// there first. A payment names itself by the event's key, so that a second payment of the
// order (another key) is recorded as owed back by the store.
asio::awaitable<Result<orders::OrderStatus>> fulfil(Services& services,
                                                    const sessions::PaymentSession& session,
                                                    const WebhookEvent& event) {
    const PaymentOutcome outcome = event.outcome;
    auto order = co_await settle(services, session, outcome);
    if (!order) co_return order.fault();
    if (outcome == PaymentOutcome::succeeded) {
        order->payment_key = orders::stored_payment_key(event.idempotency_key);
    }
    TF_ASSERT(!order->id.empty());
    TF_ASSERT_EQ(order->id, session.order_id);
    TF_ASSERT_EQ(orders::is_paid(order->status), outcome == PaymentOutcome::succeeded);
    const orders::OrderStatus computed = order->status;
    crash::point("webhook.after_settle");
    auto stored =
        co_await timed(services.timings.order_insert, services.orders.insert(std::move(*order)));
    if (!stored) co_return stored;
    crash::point("webhook.after_insert");
    // The stored status is this delivery's, or one it may not replace: an order never moves
    // from paid back to unpaid.
    TF_ASSERT_MSG(*stored == computed || !orders::may_replace(*stored, computed), "order ",
                  session.order_id, " stored as ", orders::status_name(*stored), " after ",
                  orders::status_name(computed));
    if (computed == orders::OrderStatus::paid && *stored == computed) services.timings.sales.add();
    co_return stored;
}

asio::awaitable<void> release_lease(Services& services, const std::string& psid,
                                    const std::string& token) {
    Status released = co_await services.sessions.release_lease(psid, token);
    if (!released) {
        spdlog::error("webhook: could not release the lease of {} ({}); it expires by itself", psid,
                      fault_name(released.fault()));
    }
}

// The gate said done: a replay, answered with the status stored when the order committed.
WebhookOutcome replay_answer(const sessions::GateAnswer& gate) {
    const std::optional<orders::OrderStatus> status = orders::parse_status(gate.done_status);
    if (!status) {
        spdlog::error("webhook: the gate holds an unknown order status '{}'", gate.done_status);
        return Fault::internal;
    }
    return WebhookSettled{true, *status};
}

// The lease is held: settle, store, keep or free the email's slot, mark done, answer. The done
// mark drops the session in the same round trip (a paid order's is deleted, an unpaid one's
// only leaves the pending list: a payment may still follow its failure or cancel). On a fault
// the lease is given back so the provider's retry runs at once.
asio::awaitable<WebhookOutcome> process_leased(Services& services, const WebhookEvent& event,
                                               const sessions::PaymentSession& session,
                                               const std::string& token) {
    const std::string& psid = event.payment_session_id;
    TF_ASSERT_EQ(session.psid, psid);  // The store answered for the session it was asked about.
    auto status = co_await fulfil(services, session, event);
    if (!status) {
        co_await release_lease(services, psid, token);
        co_return status.fault();
    }
    // The email's slot follows the stored order before the gate is done, so a retry after a
    // failure here settles it too. Only a ticket counts for good: a payment without one
    // (PAID_UNFULFILLED, refunded) frees the slot like a failure.
    const bool ticketed = *status == orders::OrderStatus::paid;
    Status counted =
        co_await settle_email_slot(services, session.customer_email, session.order_id, ticketed);
    if (!counted) {
        co_await release_lease(services, psid, token);
        co_return counted.fault();
    }
    Status finished =
        co_await timed(services.timings.session_gate,
                       services.sessions.finish_gate(psid, orders::status_name(*status)));
    if (!finished) {
        // The order is durable; only the mark is missing. Releasing lets the retry find the
        // stored order at once instead of waiting out the lease.
        co_await release_lease(services, psid, token);
        co_return finished.fault();
    }
    crash::point("webhook.before_answer");
    co_return WebhookSettled{false, *status};
}

// Takes the session's lease for this delivery under `token` (both outlive the call).
asio::awaitable<Result<sessions::GateAnswer>> take_gate(Services& services,
                                                        const WebhookEvent& event,
                                                        const std::string& token) {
    return timed(
        services.timings.session_gate,
        services.sessions.take_lease(event.payment_session_id, token, limits::webhook_lease_ms,
                                     event.outcome == PaymentOutcome::succeeded));
}

// The answer to a delivery the gate turns away (a fault, a replay of the stored order, or come
// back later); nullopt when the lease is this delivery's.
std::optional<WebhookOutcome> turned_away(const Result<sessions::GateAnswer>& gate) {
    if (!gate) return gate.fault();
    switch (gate->state) {
        case sessions::GateState::done: return replay_answer(*gate);
        case sessions::GateState::busy: return DeliveryInProgress{};
        case sessions::GateState::leased: break;
    }
    return std::nullopt;
}

// A payment's order as its event describes it, owed back (PAID_UNFULFILLED) until a ticket is
// found for it.
orders::Order order_from_event(const WebhookEvent& event) {
    TF_ASSERT(event.outcome == PaymentOutcome::succeeded && event.order);
    const EventOrder& paid = *event.order;
    orders::Order order;
    order.id = paid.order_id;
    order.cls = paid.cls;
    order.qty = ticket_quantity;
    order.amount_cents = paid.amount_cents;
    order.currency = paid.currency;
    order.customer_email = paid.customer_email;
    order.created_at_us = paid.created_at_s * 1'000'000;
    order.status = orders::OrderStatus::paid_unfulfilled;
    order.paid_at_us = unix_now_us();
    order.payment_key = orders::stored_payment_key(event.idempotency_key);
    return order;
}

// Stores the payment as its event describes its order, owed back (PAID_UNFULFILLED) unless
// the order is stored already, whose status is the answer.
asio::awaitable<Result<orders::OrderStatus>> store_event_payment(Services& services,
                                                                 const WebhookEvent& event) {
    co_return co_await timed(services.timings.order_insert,
                             services.orders.insert(order_from_event(event)));
}

// What the ledger holds for one order, by kind: a ticket or goodie sold to it (posted, late
// booking included), and one held for it (a hold neither posted nor voided; one the reading
// says expired is tried all the same, so that the ledger's own clock decides, not this
// process's).
struct OrderLedger {
    std::optional<accounting::LedgerEntry> sold_ticket;
    std::optional<accounting::LedgerEntry> held_ticket;
    std::optional<accounting::LedgerEntry> sold_goodie;
    std::optional<accounting::LedgerEntry> held_goodie;
};

OrderLedger order_ledger(const std::vector<accounting::LedgerEntry>& entries, TicketClass cls) {
    OrderLedger found;
    for (const accounting::LedgerEntry& entry : entries) {
        const bool sold = entry.state == accounting::EntryState::posted;
        const bool held = !entry.late && (entry.state == accounting::EntryState::pending ||
                                          entry.state == accounting::EntryState::expired);
        if (entry.resource == resource_of(cls)) {
            if (sold) found.sold_ticket = entry;
            if (held) found.held_ticket = entry;
        } else if (entry.resource == Resource::goodies) {
            if (sold) found.sold_goodie = entry;
            if (held) found.held_goodie = entry;
        }
    }
    return found;
}

// A seat order whose session was lost: its seat holds carry the order's id as well. Every one
// still held is posted (a hold the reading calls expired too: the ledger decides), and one sold
// already counts as posted. Every seat sold makes the order paid; only some sold, a refund case
// whose sold seats stay the order's, as when a session settles. nullopt when no seat could be
// sold, or the holds are not a shape checkout makes.
asio::awaitable<Result<std::optional<orders::Order>>> post_lost_seat_holds(
    Services& services, const WebhookEvent& event, u128 order_id) {
    TF_ASSERT(services.seating != nullptr);
    auto entries = co_await services.seating->ledger.hold_entries_of(order_id);
    if (!entries) co_return entries.fault();
    std::vector<accounting::SeatHoldEntry>& holds = *entries;
    if (holds.empty()) co_return std::optional<orders::Order>();
    std::sort(holds.begin(), holds.end(),
              [](const auto& a, const auto& b) { return a.seat < b.seat; });
    accounting::SeatHolds all;
    accounting::SeatHolds open;
    std::size_t sold = 0;
    for (const accounting::SeatHoldEntry& hold : holds) {
        all.seats.push_back(hold.seat);
        all.hold_ids.push_back(hold.hold_id);
        if (hold.state == accounting::EntryState::posted) sold++;
        if (hold.state == accounting::EntryState::pending ||
            hold.state == accounting::EntryState::expired) {
            open.seats.push_back(hold.seat);
            open.hold_ids.push_back(hold.hold_id);
        }
    }
    if (!seat_holds_are_sound(*services.seating, all.seats, all.hold_ids)) {
        spdlog::error("webhook: the seat holds of order {} are not a shape checkout makes",
                      event.order->order_id);
        co_return std::optional<orders::Order>();
    }
    if (!open.seats.empty()) {
        auto post = services.seating->ledger.post_seats(std::move(open));
        auto posted = co_await timed(services.timings.accounting_commit, std::move(post));
        if (!posted) co_return posted.fault();
        sold += static_cast<std::size_t>(
            std::count(posted->begin(), posted->end(), accounting::Resolution::done));
    }
    if (sold == 0) co_return std::optional<orders::Order>();
    orders::Order order = order_from_event(event);
    order.seats = all.seats;
    order.ticket_transfer_id = all.hold_ids.front();
    if (sold == holds.size()) {
        order.status = orders::OrderStatus::paid;
        order.ticket_code = new_ticket_code();
    } else {
        spdlog::warn(
            "webhook: order {} paid, but only {} of its {} seats could be sold; "
            "PAID_UNFULFILLED, and those seats stay sold to it",
            event.order->order_id, sold, holds.size());
    }
    co_return order;
}

// A payment whose session was lost while its checkout's ticket hold is still pending (Redis
// lost its last writes): the holds carry the order's id, so the ledger names them, and posting
// them gives the fan the ticket the hold kept. The ticket is posted first and the goodie only
// once the ticket is, so no goodie goes to an order without one. A ticket the ledger already
// sold to the order (an earlier attempt posted it and failed before the order was stored) is
// the order's too, and is never posted again. An order without a ticket in the class ledger
// may be a seat order (above). nullopt when the order has neither, or its holds expired or
// were voided before the post: the payment is then owed back.
asio::awaitable<Result<std::optional<orders::Order>>> post_lost_sessions_holds(
    Services& services, const WebhookEvent& event) {
    const EventOrder& paid = *event.order;
    const std::optional<u128> order_id = parse_order_id(paid.order_id);
    if (!order_id || *order_id == 0) co_return std::optional<orders::Order>();
    auto entries = co_await services.ledger.entries_of(*order_id);
    if (!entries) co_return entries.fault();
    const OrderLedger found = order_ledger(*entries, paid.cls);
    const std::optional<accounting::LedgerEntry>& ticket =
        found.sold_ticket ? found.sold_ticket : found.held_ticket;
    if (!ticket) {
        if (services.seating == nullptr) co_return std::optional<orders::Order>();
        co_return co_await post_lost_seat_holds(services, event, *order_id);
    }
    if (!found.sold_ticket) {
        const accounting::CommitRequest alone{paid.cls, ticket->transfer_id, 0, false, *order_id};
        auto committed =
            co_await timed(services.timings.accounting_commit, services.ledger.commit(alone));
        if (!committed) co_return committed.fault();
        if (committed->ticket != accounting::Resolution::done) {
            co_return std::optional<orders::Order>();
        }
    }
    orders::Order order = order_from_event(event);
    order.status = orders::OrderStatus::paid;
    order.ticket_code = new_ticket_code();
    order.ticket_transfer_id = ticket->transfer_id;
    if (found.sold_goodie) {
        order.try_goodie = true;
        order.got_goodie = true;
        order.goodie_transfer_id = found.sold_goodie->transfer_id;
    } else if (found.held_goodie && !ticket->late) {
        // The ticket's post is repeated with the goodie's: its derived id exists, so it is
        // done again. (A late-booked ticket's goodie was asked for when it was booked.)
        const accounting::CommitRequest both{paid.cls, ticket->transfer_id,
                                             found.held_goodie->transfer_id, true, *order_id};
        auto committed =
            co_await timed(services.timings.accounting_commit, services.ledger.commit(both));
        if (!committed) co_return committed.fault();
        order.try_goodie = true;
        order.got_goodie = committed->goodie == accounting::Resolution::done;
        order.goodie_transfer_id = found.held_goodie->transfer_id;
    }
    co_return order;
}

// A payment for a session that is gone and was never settled: its every delivery failed until
// the session expired (the server down, or its session store, for longer than the session's
// margin), it came after the reservation's end, or the session store lost it. For an order
// not stored yet, a ticket hold still pending is posted (above); otherwise the payment is
// recorded as owed back (PAID_UNFULFILLED) from what the signed event says of its order. The
// order id keys the row: a redelivery stores nothing twice, and an order already stored (the
// reconciler's, from a ticket the ledger booked, or PAID_UNFULFILLED, which nothing replaces)
// keeps its status, which is the answer, and has nothing posted for it. A paid order keeps its
// email's slot for good, as a settled session's does.
asio::awaitable<WebhookOutcome> record_unsettled_payment(Services& services,
                                                         const WebhookEvent& event) {
    auto existing =
        co_await timed(services.timings.order_find, services.orders.find(event.order->order_id));
    if (!existing) co_return existing.fault();
    Result<std::optional<orders::Order>> posted = std::optional<orders::Order>();
    if (!existing->has_value()) posted = co_await post_lost_sessions_holds(services, event);
    if (!posted) co_return posted.fault();
    const bool ticketed = posted->has_value();
    Result<orders::OrderStatus> stored = Fault::internal;
    if (ticketed) {
        stored = co_await timed(services.timings.order_insert,
                                services.orders.insert(std::move(**posted)));
    } else {
        stored = co_await store_event_payment(services, event);
    }
    if (!stored) co_return stored.fault();
    if (ticketed && *stored == orders::OrderStatus::paid) services.timings.sales.add();
    if (*stored == orders::OrderStatus::paid) {
        Status counted = co_await settle_email_slot(services, event.order->customer_email,
                                                    event.order->order_id, true);
        if (!counted) co_return counted.fault();
    }
    spdlog::warn("webhook: payment {} for order {} found no session {}; {} as {}",
                 orders::stored_payment_key(event.idempotency_key), event.order->order_id,
                 event.payment_session_id, existing->has_value() ? "already stored" : "stored",
                 orders::status_name(*stored));
    co_return WebhookSettled{false, *stored};
}

// A succeeded event for a session the gate says is paid: a redelivery of the payment that paid
// it, or a second payment (a provider that took the session's payment twice). The
// stored order tells which (usually from the memory of the process that wrote it): its own
// payment's key is a replay; another is offered to the order store as the event describes it,
// and the store keeps the order as it is and records the payment as a duplicate, owed back.
// An event that does not describe its order, or whose order is not stored (a database
// restored from before it: the reconciler writes it again from the ledger), is a replay.
asio::awaitable<WebhookOutcome> replay_or_second_payment(Services& services,
                                                         const WebhookEvent& event,
                                                         WebhookOutcome replay) {
    const auto* settled = std::get_if<WebhookSettled>(&replay);
    const bool payment_of_paid_order = settled && orders::is_paid(settled->status) &&
                                       event.outcome == PaymentOutcome::succeeded && event.order;
    if (!payment_of_paid_order) co_return replay;
    auto found =
        co_await timed(services.timings.order_find, services.orders.find(event.order->order_id));
    if (!found) co_return found.fault();
    const std::optional<orders::Order>& order = *found;
    if (!order || order->payment_key == orders::stored_payment_key(event.idempotency_key)) {
        co_return replay;
    }
    auto stored = co_await store_event_payment(services, event);
    if (!stored) co_return stored.fault();
    co_return WebhookSettled{true, *stored};
}

// The lease was this delivery's, yet the session is missing: unknown, unless a delivery whose
// stalled lease this one took over finished in between, its done mark dropping the session
// after the take and before the lookup. The gate, asked once more, tells which. A payment whose
// event describes its order is then recorded under that lease, so deliveries at the same time
// wait for it; a later one finds the order stored and answers its status. No done mark is
// left: nothing ties the event's session to its order here (there is no session), so a mark
// under one session's name for another's order would answer that session's own payment as a
// replay.
asio::awaitable<WebhookOutcome> missing_session(Services& services, const WebhookEvent& event) {
    const std::string& psid = event.payment_session_id;
    const std::string token = new_lease_token();
    const Result<sessions::GateAnswer> gate = co_await take_gate(services, event, token);
    if (std::optional<WebhookOutcome> away = turned_away(gate)) {
        co_return co_await replay_or_second_payment(services, event, *away);
    }
    if (event.outcome != PaymentOutcome::succeeded || !event.order) {
        co_await release_lease(services, psid, token);
        co_return SessionUnknown{};
    }
    WebhookOutcome recorded = co_await record_unsettled_payment(services, event);
    co_await release_lease(services, psid, token);
    co_return recorded;
}

}  // namespace

asio::awaitable<WebhookOutcome> handle_webhook(Services& services, WebhookEvent event) {
    // The gate and the session lookup are independent, so both leave at once (for a free gate,
    // Redis takes them in one round trip). The gate's answer is judged first: a replay arriving
    // after the session was dropped still answers "idempotent" instead of 404.
    using namespace boost::asio::experimental::awaitable_operators;
    const std::string& psid = event.payment_session_id;
    const std::string token = new_lease_token();
    TF_ASSERT(!token.empty());  // Only the holder's token releases a lease; empty matches none.
    auto gate_operation = take_gate(services, event, token);
    auto find_operation = timed(services.timings.session_find, services.sessions.find(psid));
    auto both = std::move(gate_operation) && std::move(find_operation);
    auto [gate, found] = co_await std::move(both);
    if (std::optional<WebhookOutcome> away = turned_away(gate)) {
        co_return co_await replay_or_second_payment(services, event, *away);
    }
    if (!found || !found->has_value()) {
        co_await release_lease(services, psid, token);
        if (!found) co_return found.fault();
        co_return co_await missing_session(services, event);
    }
    crash::point("webhook.after_lease");
    co_return co_await process_leased(services, event, **found, token);
}

}  // namespace tigerfans::flows

// The reconciler against the flows' test doubles: a ticket posted without an order is written
// once (a second pass writes nothing), a paid order without a posted ticket and a posted ticket
// whose order is PAID_UNFULFILLED are reported and left alone, open and unpaid holds are not
// orders, recent tickets wait for the next pass, and a failing store fails the pass.
#include <gtest/gtest.h>

#include "flow_fakes.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/flows/reconcile.hpp"

namespace tigerfans::flows {
namespace {

class ReconcileTest : public testing_fakes::FlowFixture {
protected:
    Result<ReconcileReport> run(ReconcileOptions options = {.repair = true, .grace_us = 0}) {
        return testing::run_async(io, [&] {
            return reconcile(ReconcileStores{services.ledger, services.orders}, options);
        });
    }

    // A checkout whose payment posted the ticket but whose order was never written.
    CheckoutAccepted paid_without_order(TicketClass cls = TicketClass::a) {
        const auto accepted = std::get<CheckoutAccepted>(buy(cls));
        const sessions::PaymentSession& session = sessions.saved.at(accepted.payment_session_id);
        ledger.posted.insert(session.ticket_hold_id);
        ledger.held.erase(session.ticket_hold_id);
        ledger.posted_at_us[session.ticket_hold_id] = unix_now_us() - 1;
        return accepted;
    }

    // A stored row for `id` with `status` and nothing else.
    void store(const std::string& id, orders::OrderStatus status) {
        orders::Order order;
        order.id = id;
        order.status = status;
        orders.rows[id] = order;
    }
};

TEST_F(ReconcileTest, APostedTicketWithoutAnOrderIsWrittenOnce) {
    const CheckoutAccepted lost = paid_without_order(TicketClass::b);
    const auto first = run();
    ASSERT_TRUE(first.ok());
    ASSERT_EQ(first->written, std::vector<std::string>{lost.order_id});
    ASSERT_EQ(orders.rows.count(lost.order_id), 1u);
    const orders::Order& order = orders.rows.at(lost.order_id);
    EXPECT_EQ(order.status, orders::OrderStatus::paid);
    EXPECT_EQ(order.cls, TicketClass::b);
    EXPECT_EQ(order.amount_cents, price_cents(TicketClass::b));
    EXPECT_FALSE(order.ticket_code.empty());
    const std::string code = order.ticket_code;

    const auto second = run();
    ASSERT_TRUE(second.ok());
    EXPECT_TRUE(second->written.empty());
    EXPECT_TRUE(second->clean());
    EXPECT_EQ(second->paid_orders, 1u);
    EXPECT_EQ(orders.rows.at(lost.order_id).ticket_code, code);
}

TEST_F(ReconcileTest, ADryRunWritesNothing) {
    const CheckoutAccepted lost = paid_without_order();
    const auto report = run({.repair = false, .grace_us = 0});
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->written, std::vector<std::string>{lost.order_id});
    EXPECT_TRUE(orders.rows.empty());
}

TEST_F(ReconcileTest, AFailedOrderWhoseTicketWasPostedBecomesPaid) {
    const CheckoutAccepted lost = paid_without_order();
    store(lost.order_id, orders::OrderStatus::failed);
    const auto report = run();
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->written.size(), 1u);
    EXPECT_EQ(orders.rows.at(lost.order_id).status, orders::OrderStatus::paid);
}

TEST_F(ReconcileTest, AnUnfulfilledOrderWithAPostedTicketIsReportedAndKept) {
    const CheckoutAccepted odd = paid_without_order();
    store(odd.order_id, orders::OrderStatus::paid_unfulfilled);
    const auto report = run();
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->written.empty());
    EXPECT_EQ(report->unfulfilled_but_posted, std::vector<std::string>{odd.order_id});
    EXPECT_EQ(report->refunds, 1u);
    EXPECT_FALSE(report->clean());
    EXPECT_EQ(orders.rows.at(odd.order_id).status, orders::OrderStatus::paid_unfulfilled);
}

TEST_F(ReconcileTest, APaidOrderWhoseTicketWasNeverPostedIsReported) {
    orders::Order paid;
    paid.id = order_id_from(new_order_id());
    paid.ticket_transfer_id = 12345;
    paid.status = orders::OrderStatus::paid;
    paid.paid_at_us = unix_now_us() - 3'600'000'000;
    orders.rows[paid.id] = paid;
    const auto report = run();
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->paid_but_unposted, std::vector<std::string>{paid.id});
    EXPECT_FALSE(report->clean());
}

TEST_F(ReconcileTest, OpenAndVoidedHoldsAreNotOrders) {
    const auto open = std::get<CheckoutAccepted>(buy());
    const auto failed = std::get<CheckoutAccepted>(buy());
    pay(failed.payment_session_id, PaymentOutcome::failed, "evt_failed");
    const auto report = run();
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->open_holds, 1u);
    EXPECT_TRUE(report->written.empty());
    EXPECT_TRUE(report->clean());
    EXPECT_EQ(orders.rows.count(open.order_id), 0u);
}

TEST_F(ReconcileTest, APaidCheckoutIsAlreadyReconciled) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_paid");
    ASSERT_EQ(orders.rows.at(accepted.order_id).status, orders::OrderStatus::paid);
    // The order was paid just now: with the default grace it is left to a later pass, with
    // none it is checked and found in order.
    const auto report = run();
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->written.empty());
    EXPECT_TRUE(report->clean());
}

TEST_F(ReconcileTest, TicketsPostedWithinTheGraceAreLeftToTheNextPass) {
    paid_without_order();
    const auto report = run({.repair = true, .grace_us = std::int64_t{3'600} * 1'000'000});
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->written.empty());
    EXPECT_TRUE(orders.rows.empty());
}

TEST_F(ReconcileTest, AnUnreachableLedgerFailsThePass) {
    paid_without_order();
    calls.fail_next("ledger.entries");
    const auto report = run();
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.fault(), Fault::unavailable);
    EXPECT_TRUE(orders.rows.empty());
}

// Every call of a pass fails in turn (the happy pass counted first; n = count + 1 fails
// nothing): the pass fails with the fault, the lost order is either not written or written
// whole, and the next pass ends with it written once.
TEST_F(ReconcileTest, EachCallOfAPassFailingFailsItCleanlyAndTheNextPassRepairs) {
    ledger.tickets_left = 100;
    ledger.goodies_left = 100;
    // A paid order and a refund, so that both status reads return rows.
    const auto paid = std::get<CheckoutAccepted>(buy());
    pay(paid.payment_session_id, PaymentOutcome::succeeded, "evt_paid");
    const auto refund = std::get<CheckoutAccepted>(buy());
    pay(refund.payment_session_id, PaymentOutcome::failed, "evt_failed");
    pay(refund.payment_session_id, PaymentOutcome::succeeded, "evt_paid_late");
    ASSERT_EQ(orders.rows.at(refund.order_id).status, orders::OrderStatus::paid_unfulfilled);

    paid_without_order();
    const std::size_t first_counted = calls.made();
    const auto counted = run();
    const std::size_t count = calls.made() - first_counted;
    ASSERT_TRUE(counted.ok());
    ASSERT_EQ(counted->written.size(), 1u);
    ASSERT_GT(count, 0u);
    for (std::size_t n = 1; n <= count + 1; n++) {
        SCOPED_TRACE("call " + std::to_string(n) + " of " + std::to_string(count) + " fails");
        const CheckoutAccepted lost = paid_without_order();
        const std::size_t first = calls.made();
        calls.fail_nth(n);
        const auto report = run();
        const bool fired = !calls.armed();
        calls.disarm();
        expect_orders_whole();
        if (n > count) {
            EXPECT_FALSE(fired);
            EXPECT_EQ(calls.made() - first, count);
            ASSERT_TRUE(report.ok());
            EXPECT_EQ(report->written, std::vector<std::string>{lost.order_id});
            continue;
        }
        ASSERT_TRUE(fired) << calls.names_since(first);
        SCOPED_TRACE("the failing call: " + calls.last_failed());
        ASSERT_FALSE(report.ok());
        EXPECT_EQ(report.fault(), Fault::unavailable);
        const bool written_before = orders.rows.count(lost.order_id) == 1;
        const auto next = run();
        ASSERT_TRUE(next.ok());
        EXPECT_EQ(next->written.size(), written_before ? 0u : 1u);
        EXPECT_EQ(orders.rows.at(lost.order_id).status, orders::OrderStatus::paid);
        EXPECT_TRUE(next->paid_but_unposted.empty());
        EXPECT_TRUE(next->unfulfilled_but_posted.empty());
        EXPECT_EQ(next->refunds, 1u);
        expect_orders_whole();
    }
}

TEST(ReconcileView, OnePostedTicketPerOrderWithItsGoodie) {
    using accounting::EntryState;
    const u128 order = 77;
    std::vector<accounting::LedgerEntry> entries(4);
    entries[0] = {1, order, Resource::class_a, EntryState::posted, false, 10, 20};
    entries[1] = {2, order, Resource::goodies, EntryState::posted, false, 10, 20};
    entries[2] = {3, 0, Resource::class_b, EntryState::posted, true, 10, 20};
    entries[3] = {4, 78, Resource::class_b, EntryState::expired, false, 10, 20};
    const LedgerView view = view_ledger(entries, 100);
    EXPECT_TRUE(view.sold_twice.empty());
    ASSERT_EQ(view.posted.size(), 1u);
    EXPECT_EQ(view.posted[0].order_id, order_id_from(order));
    EXPECT_EQ(view.posted[0].goodie_transfer_id, u128{2});
    EXPECT_EQ(view.untraced_tickets, 1u);
    EXPECT_EQ(view.posted_transfers.size(), 2u);
    EXPECT_EQ(view.open_holds, 0u);
    const orders::Order written = order_from_ledger(view.posted[0]);
    EXPECT_TRUE(written.got_goodie);
    EXPECT_EQ(written.paid_at_us, 20);

    // A late booking posted beside the order's posted hold: the order was sold twice.
    entries.push_back({5, order, Resource::class_a, EntryState::posted, true, 30, 30});
    const LedgerView doubled = view_ledger(entries, 100);
    EXPECT_EQ(doubled.sold_twice, std::vector<std::string>{order_id_from(order)});
    EXPECT_EQ(doubled.posted.size(), 1u);
}

// Seat holds grouped by order: an order with a seat sold and every hold resolved before the
// cutoff is judged, whole or partly sold; one with a hold open, or sold within the grace, waits;
// seats sold without an order are untraced.
TEST(ReconcileView, SeatHoldsMakeOneSoldOrderEachOnceEveryHoldIsResolved) {
    using accounting::EntryState;
    using accounting::SeatHoldEntry;
    const std::vector<SeatHoldEntry> entries{
        {5, 105, 1, EntryState::posted, 12, 40},  // Order 1: seats 4 and 5, whole.
        {4, 104, 1, EntryState::posted, 10, 30},
        {7, 107, 2, EntryState::posted, 10, 30},  // Order 2: 7 sold, 8 expired.
        {8, 108, 2, EntryState::expired, 10, 20},
        {9, 109, 3, EntryState::posted, 10, 30},  // Order 3: 10 still held.
        {10, 110, 3, EntryState::pending, 10, 0},
        {11, 111, 4, EntryState::posted, 10, 150},  // Order 4: sold after the cutoff.
        {12, 112, 5, EntryState::voided, 10, 30},   // Order 5: never paid.
        {13, 113, 0, EntryState::posted, 10, 30},   // No order.
    };
    const SeatSalesView view = view_seat_holds(entries, 100);
    ASSERT_EQ(view.sold.size(), 2u);
    const SoldSeatOrder& whole =
        view.sold[0].order_id == order_id_from(1) ? view.sold[0] : view.sold[1];
    const SoldSeatOrder& partial = &whole == &view.sold[0] ? view.sold[1] : view.sold[0];
    EXPECT_EQ(whole.seats, (std::vector<seating::SeatId>{4, 5}));
    EXPECT_EQ(whole.sold, (std::vector<seating::SeatId>{4, 5}));
    EXPECT_EQ(whole.first_hold_id, u128{104});
    EXPECT_EQ(whole.held_at_us, 10);
    EXPECT_EQ(whole.sold_at_us, 40);
    EXPECT_EQ(partial.order_id, order_id_from(2));
    EXPECT_EQ(partial.seats, (std::vector<seating::SeatId>{7, 8}));
    EXPECT_EQ(partial.sold, std::vector<seating::SeatId>{7});
    EXPECT_EQ(view.sold_seats.size(), 4u);  // Orders 1 to 4: every order that sold a seat.
    EXPECT_EQ(view.sold_seats.at(order_id_from(3)), std::vector<seating::SeatId>{9});
    EXPECT_EQ(view.open_holds, 1u);
    EXPECT_EQ(view.untraced, 1u);

    const seating::Venue venue = testing_fakes::small_venue();
    const orders::Order paid = order_from_seats(whole, venue);
    EXPECT_EQ(paid.status, orders::OrderStatus::paid);
    EXPECT_EQ(paid.amount_cents, 2 * 9'500);
    EXPECT_EQ(paid.seats, whole.seats);
    EXPECT_EQ(paid.paid_at_us, 40);
    EXPECT_FALSE(paid.ticket_code.empty());
    const orders::Order refund = order_from_seats(partial, venue);
    EXPECT_EQ(refund.status, orders::OrderStatus::paid_unfulfilled);
    // What the customer paid: every seat held, seat 7 at the front and 8 at the back.
    EXPECT_EQ(refund.amount_cents, 9'500 + 4'500);
    EXPECT_TRUE(refund.ticket_code.empty());
}

}  // namespace
}  // namespace tigerfans::flows

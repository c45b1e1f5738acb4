// The flows against in-memory test doubles of the three stores: what checkout and the webhook
// do on success, on sold out, on late payment, on replays, when a store fails midway (nothing
// leaks: holds are voided, the lease is released) and when the process dies midway (the lease
// expires, the next delivery finishes the work exactly once).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <map>
#include <set>

#include "flow_fakes.hpp"

namespace tigerfans::flows {
namespace {

using accounting::Resolution;

using FlowsTest = testing_fakes::FlowFixture;
using testing_fakes::ProcessDied;

TEST_F(FlowsTest, CheckoutHoldsATicketAndSavesTheSession) {
    const auto outcome = buy(TicketClass::b);
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(outcome));
    const auto& accepted = std::get<CheckoutAccepted>(outcome);
    EXPECT_EQ(accepted.amount_cents, 3500);
    ASSERT_EQ(sessions.saved.count(accepted.payment_session_id), 1u);
    const sessions::PaymentSession session = sessions.saved[accepted.payment_session_id];
    EXPECT_EQ(session.order_id, accepted.order_id);
    EXPECT_TRUE(ledger.held.count(session.ticket_hold_id));
    EXPECT_TRUE(session.goodie_held);
}

// Order ids are the capability to read an order and its ticket: a hundred checkouts in a row
// give ids no closer to each other than chance would (time-based ids differ by a few units).
TEST_F(FlowsTest, OrderIdsOfConsecutiveCheckoutsAreUnguessable) {
    ledger.tickets_left = 100;
    ledger.goodies_left = 100;
    std::vector<u128> order_ids;
    for (int i = 0; i < 100; i++) {
        const auto accepted = std::get<CheckoutAccepted>(buy());
        order_ids.push_back(*u128_from_hex(accepted.order_id));
    }
    std::sort(order_ids.begin(), order_ids.end());
    for (std::size_t i = 1; i < order_ids.size(); i++) {
        EXPECT_GT(order_ids[i] - order_ids[i - 1], u128{1} << 80) << "ids " << i - 1 << ", " << i;
    }
}

TEST_F(FlowsTest, CheckoutWithNothingLeftIsSoldOutAndHoldsNothing) {
    ledger.tickets_left = 0;
    EXPECT_TRUE(std::holds_alternative<SoldOut>(buy()));
    EXPECT_TRUE(ledger.held.empty());
    EXPECT_TRUE(sessions.saved.empty());
}

TEST_F(FlowsTest, WhenTheSessionCannotBeSavedTheHoldsAreVoidedAndTheFaultReturned) {
    sessions.fail_save = Fault::unavailable;
    const auto outcome = buy();
    ASSERT_TRUE(std::holds_alternative<Fault>(outcome));
    EXPECT_EQ(std::get<Fault>(outcome), Fault::unavailable);
    EXPECT_TRUE(ledger.held.empty());
    EXPECT_EQ(ledger.voided.size(), 2u);  // Ticket and goodie.
}

TEST_F(FlowsTest, APaidSessionBecomesAPaidOrderWithATicketAndTheSessionIsDropped) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    const auto outcome = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(outcome));
    EXPECT_FALSE(std::get<WebhookSettled>(outcome).idempotent);
    EXPECT_EQ(std::get<WebhookSettled>(outcome).status, orders::OrderStatus::paid);
    const orders::Order& order = orders.rows.at(accepted.order_id);
    EXPECT_EQ(order.status, orders::OrderStatus::paid);
    EXPECT_TRUE(order.ticket_code.starts_with("TCK-"));
    EXPECT_TRUE(order.got_goodie);
    EXPECT_TRUE(order.paid_at_us.has_value());
    EXPECT_TRUE(sessions.saved.empty());
    EXPECT_EQ(ledger.posted.size(), 2u);
}

TEST_F(FlowsTest, AReplayedWebhookChangesNothingEvenAfterTheSessionIsGone) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    const auto orders_before = orders.rows.size();
    for (const char* key : {"evt_1", "evt_2"}) {
        const auto replay = pay(accepted.payment_session_id, PaymentOutcome::succeeded, key);
        ASSERT_TRUE(std::holds_alternative<WebhookSettled>(replay));
        EXPECT_TRUE(std::get<WebhookSettled>(replay).idempotent);
    }
    EXPECT_EQ(orders.rows.size(), orders_before);
}

TEST_F(FlowsTest, AFailedPaymentVoidsTheHoldsAndRecordsAFailedOrder) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    const auto outcome = pay(accepted.payment_session_id, PaymentOutcome::failed, "evt_1");
    EXPECT_EQ(std::get<WebhookSettled>(outcome).status, orders::OrderStatus::failed);
    EXPECT_TRUE(ledger.held.empty());
    EXPECT_EQ(ledger.voided.size(), 2u);
    EXPECT_EQ(orders.rows.at(accepted.order_id).status, orders::OrderStatus::failed);
    EXPECT_TRUE(orders.rows.at(accepted.order_id).ticket_code.empty());
    // Kept (off the pending list) for a payment that may still follow.
    EXPECT_EQ(sessions.saved.count(accepted.payment_session_id), 1u);
    EXPECT_EQ(sessions.unlisted.count(accepted.payment_session_id), 1u);
}

TEST_F(FlowsTest, ALatePaymentBooksATicketWhenOneIsLeft) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    const sessions::PaymentSession session = sessions.saved[accepted.payment_session_id];
    ledger.held.clear();
    ledger.expired = {session.ticket_hold_id, session.goodie_hold_id};
    ledger.tickets_left = 1;  // The expired hold's ticket came back.
    pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    const orders::Order& order = orders.rows.at(accepted.order_id);
    EXPECT_EQ(order.status, orders::OrderStatus::paid);
    EXPECT_EQ(order.ticket_transfer_id,
              derive_id(session.ticket_hold_id, Derivation::late_booking));
    EXPECT_EQ(ledger.tickets_left, 0u);
}

TEST_F(FlowsTest, ALatePaymentWithNothingLeftIsPaidUnfulfilledWithoutATicket) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    const sessions::PaymentSession session = sessions.saved[accepted.payment_session_id];
    ledger.held.clear();
    ledger.expired = {session.ticket_hold_id, session.goodie_hold_id};
    ledger.tickets_left = 0;
    const auto outcome = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    EXPECT_EQ(std::get<WebhookSettled>(outcome).status, orders::OrderStatus::paid_unfulfilled);
    const orders::Order& order = orders.rows.at(accepted.order_id);
    EXPECT_EQ(order.status, orders::OrderStatus::paid_unfulfilled);
    EXPECT_TRUE(order.ticket_code.empty());
    EXPECT_FALSE(order.got_goodie);
}

TEST_F(FlowsTest, WhenTheOrderCannotBeWrittenTheLeaseIsReleasedAndTheRetrySucceeds) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    orders.fail_insert = Fault::unavailable;
    const auto failed = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    ASSERT_TRUE(std::holds_alternative<Fault>(failed));
    EXPECT_TRUE(sessions.gates.empty());
    EXPECT_EQ(sessions.saved.size(), 1u);
    const auto retried = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(retried));
    EXPECT_FALSE(std::get<WebhookSettled>(retried).idempotent);
    EXPECT_EQ(orders.rows.at(accepted.order_id).status, orders::OrderStatus::paid);
}

TEST_F(FlowsTest, AnUnknownSessionIsReportedAndLeavesNoGateBehind) {
    const auto outcome = pay("mock_unknown", PaymentOutcome::succeeded, "evt_1");
    EXPECT_TRUE(std::holds_alternative<SessionUnknown>(outcome));
    EXPECT_TRUE(sessions.gates.empty());
}

// While one delivery holds the lease, another of the same session is sent back to retry and
// touches nothing; once the lease is gone it is processed.
TEST_F(FlowsTest, ADeliveryWhileAnotherHoldsTheLeaseIsToldToRetryAndChangesNothing) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    sessions.gates[accepted.payment_session_id] = {"lease_of_another_delivery", ""};
    const auto busy = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_2");
    EXPECT_TRUE(std::holds_alternative<DeliveryInProgress>(busy));
    EXPECT_TRUE(orders.rows.empty());
    EXPECT_TRUE(ledger.posted.empty());
    EXPECT_EQ(sessions.gates.at(accepted.payment_session_id).token, "lease_of_another_delivery");
    sessions.expire_leases();
    const auto later = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_2");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(later));
    EXPECT_EQ(orders.rows.size(), 1u);
}

// The process dies after the order committed and before the gate was marked done: the gate
// still holds only a lease, so the redelivery after it expires is processed, meets the stored
// order and marks the gate done with that order's status. One order, one ticket code.
TEST_F(FlowsTest, ACrashAfterTheOrderCommitsIsFinishedByTheNextDeliveryExactlyOnce) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    orders.die_after_insert = true;
    EXPECT_THROW(pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1"), ProcessDied);
    const std::string ticket_code = orders.rows.at(accepted.order_id).ticket_code;
    EXPECT_TRUE(sessions.gates.at(accepted.payment_session_id).done_status.empty());
    EXPECT_TRUE(std::holds_alternative<DeliveryInProgress>(
        pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1")));
    sessions.expire_leases();
    const auto redelivered = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(redelivered));
    EXPECT_EQ(std::get<WebhookSettled>(redelivered).status, orders::OrderStatus::paid);
    EXPECT_EQ(orders.rows.size(), 1u);
    EXPECT_EQ(orders.rows.at(accepted.order_id).ticket_code, ticket_code);
    EXPECT_EQ(ledger.posted.size(), 2u);
    EXPECT_EQ(sessions.gates.at(accepted.payment_session_id).done_status, "PAID");
    EXPECT_TRUE(sessions.saved.empty());
}

// A failure to mark the gate done leaves a durable order: the lease is released so the retry
// finds the order at once and answers with its stored status.
TEST_F(FlowsTest, WhenTheGateCannotBeMarkedDoneTheRetryAnswersWithTheStoredOrder) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    sessions.fail_finish = Fault::unavailable;
    const auto failed = pay(accepted.payment_session_id, PaymentOutcome::failed, "evt_1");
    ASSERT_TRUE(std::holds_alternative<Fault>(failed));
    EXPECT_TRUE(sessions.gates.empty());
    const auto retried = pay(accepted.payment_session_id, PaymentOutcome::failed, "evt_1");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(retried));
    EXPECT_EQ(std::get<WebhookSettled>(retried).status, orders::OrderStatus::failed);
    EXPECT_EQ(orders.rows.size(), 1u);
}

// A replay answers with the stored status, not a constant and not the event's: a failure
// replayed after a payment answers PAID.
TEST_F(FlowsTest, AReplayCarriesTheStoredOrdersStatus) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    const auto replay = pay(accepted.payment_session_id, PaymentOutcome::failed, "evt_2");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(replay));
    EXPECT_TRUE(std::get<WebhookSettled>(replay).idempotent);
    EXPECT_EQ(std::get<WebhookSettled>(replay).status, orders::OrderStatus::paid);
    EXPECT_EQ(orders.rows.at(accepted.order_id).status, orders::OrderStatus::paid);
}

// The fan paid after the payment had failed: the holds were given back, so no ticket is
// booked; the order becomes PAID_UNFULFILLED (a refund), never stays FAILED.
TEST_F(FlowsTest, APaymentAfterAFailureIsPaidUnfulfilledAndBooksNothing) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    pay(accepted.payment_session_id, PaymentOutcome::failed, "evt_1");
    const std::uint64_t left = ledger.tickets_left;
    const auto paid = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_2");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(paid));
    EXPECT_FALSE(std::get<WebhookSettled>(paid).idempotent);
    EXPECT_EQ(std::get<WebhookSettled>(paid).status, orders::OrderStatus::paid_unfulfilled);
    EXPECT_EQ(orders.rows.at(accepted.order_id).status, orders::OrderStatus::paid_unfulfilled);
    EXPECT_TRUE(orders.rows.at(accepted.order_id).ticket_code.empty());
    EXPECT_EQ(ledger.tickets_left, left);
    EXPECT_TRUE(ledger.booked.empty());
    const auto replay = pay(accepted.payment_session_id, PaymentOutcome::failed, "evt_1");
    EXPECT_EQ(std::get<WebhookSettled>(replay).status, orders::OrderStatus::paid_unfulfilled);
}

// A failure's delivery committed its FAILED order and died before marking the gate; the
// payment arriving after its lease expired turns the order paid (unfulfilled: the holds were
// voided) and books nothing.
TEST_F(FlowsTest, APaymentTakingOverADeadFailuresLeaseEndsPaid) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    die_after_the_order_commits(accepted.payment_session_id, PaymentOutcome::failed);
    EXPECT_EQ(orders.rows.at(accepted.order_id).status, orders::OrderStatus::failed);
    const auto paid = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_2");
    EXPECT_EQ(std::get<WebhookSettled>(paid).status, orders::OrderStatus::paid_unfulfilled);
    EXPECT_EQ(orders.rows.at(accepted.order_id).status, orders::OrderStatus::paid_unfulfilled);
    EXPECT_TRUE(ledger.booked.empty());
    EXPECT_EQ(sessions.gates.at(accepted.payment_session_id).done_status, "PAID_UNFULFILLED");
}

// The other way round: the payment's delivery committed PAID and died; a failure event taking
// over its lease cannot unpay it, and the gate ends done with PAID.
TEST_F(FlowsTest, AFailureTakingOverADeadPaymentsLeaseCannotUnpayIt) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    die_after_the_order_commits(accepted.payment_session_id, PaymentOutcome::succeeded);
    const auto failed = pay(accepted.payment_session_id, PaymentOutcome::failed, "evt_2");
    EXPECT_EQ(std::get<WebhookSettled>(failed).status, orders::OrderStatus::paid);
    EXPECT_EQ(orders.rows.at(accepted.order_id).status, orders::OrderStatus::paid);
    EXPECT_EQ(ledger.posted.size(), 2u);
    EXPECT_EQ(sessions.gates.at(accepted.payment_session_id).done_status, "PAID");
}

// A late booking's delivery died after booking; the redelivery books nothing more.
TEST_F(FlowsTest, ACrashAfterALateBookingBooksOnceOnRedelivery) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    const sessions::PaymentSession session = sessions.saved[accepted.payment_session_id];
    ledger.held.clear();
    ledger.expired = {session.ticket_hold_id, session.goodie_hold_id};
    ledger.tickets_left = 3;
    die_after_the_order_commits(accepted.payment_session_id, PaymentOutcome::succeeded);
    const auto redelivered = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    EXPECT_EQ(std::get<WebhookSettled>(redelivered).status, orders::OrderStatus::paid);
    EXPECT_EQ(ledger.tickets_left, 2u);
    EXPECT_EQ(orders.rows.size(), 1u);
}

TEST(CheckoutInput, AcceptsTheDemoShapeAndRejectsEverythingElseWithADetail) {
    const auto ok = parse_checkout_request(R"({"cls":"A","customer_email":" fan@example.com "})");
    ASSERT_TRUE(std::holds_alternative<CheckoutRequest>(ok));
    EXPECT_EQ(std::get<CheckoutRequest>(ok).customer_email, "fan@example.com");
    for (const char* body :
         {"", "{", "[]", "null", R"({"cls":"A"})", R"({"cls":"C","customer_email":"a@b.co"})",
          R"({"cls":1,"customer_email":"a@b.co"})",
          R"({"cls":"A","customer_email":"not-an-email"})", R"({"cls":"A","customer_email":"a@b"})",
          R"({"cls":"A","customer_email":"a b@c.de"})"}) {
        EXPECT_TRUE(std::holds_alternative<InvalidInput>(parse_checkout_request(body))) << body;
    }
}

}  // namespace
}  // namespace tigerfans::flows

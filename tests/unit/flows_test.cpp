// The flows against in-memory test doubles of the three stores: what checkout and the webhook
// do on success, on sold out, on late payment, on replays, when a store fails midway (nothing
// leaks: holds are voided, the lease is released) and when the process dies midway (the lease
// expires, the next delivery finishes the work exactly once).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "flow_fakes.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/flows/api.hpp"
#include "tigerfans/http/router.hpp"

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

// Where `name` first comes in `names` (CallPlan::names_since), or npos.
std::size_t position(const std::string& names, const std::string& name) {
    return names.find(name + " ");
}

std::size_t occurrences(const std::string& names, const std::string& name) {
    std::size_t count = 0;
    for (auto at = names.find(name + " "); at != std::string::npos;
         at = names.find(name + " ", at + 1)) {
        count++;
    }
    return count;
}

// While a class is expected to have tickets, its session is written beside the hold; a hold
// that finds none removes that session, and the class's next checkouts ask the ledger first,
// writing nothing while it stays sold out, until a ticket comes back.
TEST_F(FlowsTest, ASoldOutClassHoldsBeforeWritingUntilATicketComesBack) {
    ledger.tickets_left = 0;
    std::size_t first = calls.made();
    EXPECT_TRUE(std::holds_alternative<SoldOut>(buy()));
    const std::string guessed = calls.names_since(first);
    EXPECT_LT(position(guessed, "sessions.save"), position(guessed, "ledger.hold")) << guessed;
    EXPECT_EQ(occurrences(guessed, "sessions.remove"), 1u) << guessed;
    EXPECT_TRUE(sessions.saved.empty());

    first = calls.made();
    EXPECT_TRUE(std::holds_alternative<SoldOut>(buy()));
    const std::string known = calls.names_since(first);
    EXPECT_EQ(occurrences(known, "sessions.save"), 0u) << known;
    EXPECT_EQ(occurrences(known, "sessions.remove"), 0u) << known;

    ledger.tickets_left = 2;  // A hold voided or expired.
    first = calls.made();
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(buy()));
    const std::string found = calls.names_since(first);
    EXPECT_LT(position(found, "ledger.hold"), position(found, "sessions.save")) << found;
    first = calls.made();
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(buy()));
    const std::string expected = calls.names_since(first);
    EXPECT_LT(position(expected, "sessions.save"), position(expected, "ledger.hold")) << expected;
    EXPECT_EQ(sessions.saved.size(), 2u);
    EXPECT_TRUE(orphan_holds().empty());
}

// A session written beside the hold names the goodie the latest hold found; when this hold found
// otherwise, the session's goodie is corrected before the checkout answers.
TEST_F(FlowsTest, AGoodieGuessedWrongIsCorrectedBeforeTheAnswer) {
    ledger.goodies_left = 0;
    std::size_t first = calls.made();
    const auto without = std::get<CheckoutAccepted>(buy());
    std::string made = calls.names_since(first);
    EXPECT_EQ(occurrences(made, "sessions.save"), 1u) << made;
    EXPECT_EQ(occurrences(made, "sessions.correct_goodie"), 1u) << made;
    EXPECT_LT(position(made, "ledger.hold"), position(made, "sessions.correct_goodie")) << made;
    EXPECT_FALSE(sessions.saved.at(without.payment_session_id).goodie_held);

    first = calls.made();
    const auto still_without = std::get<CheckoutAccepted>(buy());
    made = calls.names_since(first);
    EXPECT_EQ(occurrences(made, "sessions.save"), 1u) << made;
    EXPECT_EQ(occurrences(made, "sessions.correct_goodie"), 0u) << made;
    EXPECT_FALSE(sessions.saved.at(still_without.payment_session_id).goodie_held);

    ledger.goodies_left = 1;  // A goodie given back.
    first = calls.made();
    const auto with = std::get<CheckoutAccepted>(buy());
    made = calls.names_since(first);
    EXPECT_EQ(occurrences(made, "sessions.save"), 1u) << made;
    EXPECT_EQ(occurrences(made, "sessions.correct_goodie"), 1u) << made;
    const sessions::PaymentSession session = sessions.saved.at(with.payment_session_id);
    EXPECT_TRUE(session.goodie_held);
    EXPECT_TRUE(ledger.held.count(session.goodie_hold_id));
    EXPECT_TRUE(orphan_holds().empty());
}

// An operator acting on a session from the pending list while its checkout still waits for the
// hold (docs/ARCHITECTURE.md, Checkout, step 3): the ledger double holds the hold back, so the
// session is written and the operator's payment or cancel settles it before the hold lands.
class CheckoutWindowTest : public FlowsTest {
protected:
    // A test that ends early still lets its checkout answer before `outcome_` goes.
    ~CheckoutWindowTest() override {
        ledger.release_holds();
        io.restart();
        while (started_ && !outcome_ && io.run_one() > 0) {
        }
    }

    // Starts a checkout and runs it as far as it goes without the hold. Returns the session it
    // wrote (a default one, the test failed, if it wrote none).
    sessions::PaymentSession start() {
        config.tickets_per_email = 1;
        ledger.hold_holds(io.get_executor());
        testing::start_async(io, checkout(services, CheckoutRequest{TicketClass::a, email}),
                             outcome_);
        started_ = true;
        run_ready();
        EXPECT_FALSE(outcome_.has_value());
        EXPECT_TRUE(ledger.held.empty());
        if (sessions.saved.size() != 1) {
            ADD_FAILURE() << sessions.saved.size() << " sessions written before the hold";
            return {};
        }
        return sessions.saved.begin()->second;
    }

    // Lets the hold land and runs the checkout to its answer.
    CheckoutOutcome finish() {
        ledger.release_holds();
        io.restart();
        while (!outcome_ && io.run_one() > 0) {
        }
        EXPECT_TRUE(outcome_.has_value());
        return outcome_.value_or(CheckoutOutcome{Fault::internal});
    }

    // The email's slot for `order_id`: nullopt when it does not count, else whether it is paid.
    std::optional<bool> slot(const std::string& order_id) const {
        const auto slots = sessions.email_slots.find(email);
        if (slots == sessions.email_slots.end()) return std::nullopt;
        const auto found = slots->second.find(order_id);
        if (found == slots->second.end()) return std::nullopt;
        return found->second;
    }

    // The operator pays or cancels the session from the pending list: settled with `status`.
    void operator_settles(const sessions::PaymentSession& session, PaymentOutcome outcome,
                          orders::OrderStatus status) {
        const auto settled = pay(session.psid, outcome, "evt_operator");
        ASSERT_TRUE(std::holds_alternative<WebhookSettled>(settled));
        EXPECT_FALSE(std::get<WebhookSettled>(settled).idempotent);
        EXPECT_EQ(std::get<WebhookSettled>(settled).status, status);
    }

    // A later delivery of the fan's own payment meets the done gate: a replay with `status`.
    void expect_replay(const std::string& psid, orders::OrderStatus status) {
        const auto replay = pay(psid, PaymentOutcome::succeeded, "evt_fan");
        ASSERT_TRUE(std::holds_alternative<WebhookSettled>(replay));
        EXPECT_TRUE(std::get<WebhookSettled>(replay).idempotent);
        EXPECT_EQ(std::get<WebhookSettled>(replay).status, status);
    }

    const std::string email = "window@example.com";

private:
    std::optional<CheckoutOutcome> outcome_;
    bool started_ = false;
};

// A stalled ledger answers the hold long after the session was written, whose time has run
// since: the session could expire before the hold, and a payment in between would find no
// session while the ticket stays held for nobody. The checkout gives both back and answers a
// timeout; a hold answered within the limit is accepted as ever.
TEST_F(CheckoutWindowTest, AHoldAnsweredLongAfterTheSessionsWriteGivesBothBack) {
    static std::int64_t now_us = 0;
    services.steady_us = [] { return now_us; };
    const sessions::PaymentSession session = start();
    now_us += std::int64_t{limits::hold_answer_late_s} * 1'000'000 + 1;
    const CheckoutOutcome answered = finish();
    ASSERT_TRUE(std::holds_alternative<Fault>(answered));
    EXPECT_EQ(std::get<Fault>(answered), Fault::timeout);
    EXPECT_TRUE(sessions.saved.empty());
    EXPECT_EQ(ledger.voided.count(session.ticket_hold_id), 1u);
    EXPECT_TRUE(ledger.held.empty());
    EXPECT_EQ(slot(session.order_id), std::nullopt);
}

TEST_F(CheckoutWindowTest, AHoldAnsweredWithinTheLimitIsAccepted) {
    static std::int64_t now_us = 0;
    services.steady_us = [] { return now_us; };
    const sessions::PaymentSession session = start();
    now_us += std::int64_t{limits::hold_answer_late_s} * 1'000'000;
    const CheckoutOutcome answered = finish();
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(answered));
    EXPECT_EQ(sessions.saved.count(session.psid), 1u);
    EXPECT_EQ(ledger.held.count(session.ticket_hold_id), 1u);
}

// A class last seen sold out holds before it writes anything; holds a stalled ledger answers
// long after the checkout began are given back all the same: the email's slot has counted since
// the claim, and would stop counting while the holds still stand, letting the email past its
// limit.
TEST_F(FlowsTest, AHoldAnsweredLateBeforeAnyWriteIsGivenBackWithTheSlot) {
    ledger.tickets_left = 0;
    ASSERT_TRUE(std::holds_alternative<SoldOut>(buy()));  // Holds first from now on.
    ledger.tickets_left = 1;
    // The steady clock jumps past the limit once the hold was asked for (a plain function).
    static const testing_fakes::CallPlan* plan = nullptr;
    static std::size_t first = 0;
    plan = &calls;
    first = calls.made();
    services.steady_us = []() -> std::int64_t {
        const bool held = position(plan->names_since(first), "ledger.hold") != std::string::npos;
        return held ? std::int64_t{limits::hold_answer_late_s} * 1'000'000 + 1 : 0;
    };
    const CheckoutOutcome answered = buy_as("late@example.com");
    ASSERT_TRUE(std::holds_alternative<Fault>(answered)) << calls.names_since(first);
    EXPECT_EQ(std::get<Fault>(answered), Fault::timeout);
    EXPECT_TRUE(ledger.held.empty());
    EXPECT_TRUE(sessions.saved.empty());
    EXPECT_EQ(sessions.slots_of("late@example.com"), 0u);
    EXPECT_TRUE(orphan_holds().empty());
}

// The payment finds no hold and books the ticket late; the hold, landing afterwards, is never
// posted and expires. The fan's checkout is accepted, and its payment is a replay.
TEST_F(CheckoutWindowTest, APaymentBeforeTheHoldLandsBooksLateAndTheHoldIsNeverPosted) {
    const sessions::PaymentSession session = start();
    operator_settles(session, PaymentOutcome::succeeded, orders::OrderStatus::paid);
    EXPECT_EQ(ledger.booked.count(session.ticket_hold_id), 1u);
    EXPECT_EQ(slot(session.order_id), std::optional<bool>(true));

    const CheckoutOutcome answered = finish();
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(answered));
    EXPECT_EQ(std::get<CheckoutAccepted>(answered).order_id, session.order_id);
    EXPECT_EQ(ledger.held.count(session.ticket_hold_id), 1u);
    EXPECT_EQ(ledger.posted.count(session.ticket_hold_id), 0u);
    EXPECT_EQ(orders.rows.at(session.order_id).status, orders::OrderStatus::paid);
    EXPECT_EQ(slot(session.order_id), std::optional<bool>(true));
    expect_replay(session.psid, orders::OrderStatus::paid);
    expect_orders_whole();
}

// The late booking took the last ticket: the checkout answers sold out, the payment keeps its
// ticket and the email its paid slot, and nothing stays held.
TEST_F(CheckoutWindowTest, APaymentBeforeTheHoldLandsMayLeaveTheCheckoutSoldOut) {
    ledger.tickets_left = 1;
    const sessions::PaymentSession session = start();
    operator_settles(session, PaymentOutcome::succeeded, orders::OrderStatus::paid);

    EXPECT_TRUE(std::holds_alternative<SoldOut>(finish()));
    EXPECT_EQ(ledger.tickets_left, 0u);
    EXPECT_TRUE(ledger.held.empty());
    EXPECT_EQ(sessions.saved.count(session.psid), 0u);
    EXPECT_EQ(orders.rows.at(session.order_id).status, orders::OrderStatus::paid);
    EXPECT_EQ(slot(session.order_id), std::optional<bool>(true));  // A paid slot is never freed.
    expect_replay(session.psid, orders::OrderStatus::paid);
    expect_orders_whole();
}

// The hold found the goodie the session did not name: the checkout's correction finds the
// session the payment dropped gone and leaves it so; every delivery for it, a payment or a
// cancel, is a replay of the paid order.
TEST_F(CheckoutWindowTest, APaymentBeforeTheHoldLandsOfAGoodieGuessedWrongLeavesTheSessionGone) {
    outlook.note(TicketClass::a, accounting::HoldResult{true, false});
    const sessions::PaymentSession session = start();
    EXPECT_FALSE(session.goodie_held);
    operator_settles(session, PaymentOutcome::succeeded, orders::OrderStatus::paid);
    EXPECT_EQ(sessions.saved.count(session.psid), 0u);

    const std::size_t first = calls.made();
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(finish()));
    EXPECT_EQ(occurrences(calls.names_since(first), "sessions.correct_goodie"), 1u);
    EXPECT_EQ(sessions.saved.count(session.psid), 0u);
    expect_replay(session.psid, orders::OrderStatus::paid);
    const auto canceled = pay(session.psid, PaymentOutcome::canceled, "evt_operator_cancel");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(canceled));
    EXPECT_TRUE(std::get<WebhookSettled>(canceled).idempotent);
    EXPECT_EQ(std::get<WebhookSettled>(canceled).status, orders::OrderStatus::paid);
    expect_orders_whole();
}

// After a cancel the session stays, off the pending list, since a payment may still follow: the
// correction names the goodie the hold found, and the fan's payment posts it beside the ticket.
TEST_F(CheckoutWindowTest, ACancelBeforeTheHoldLandsOfAGoodieGuessedWrongKeepsTheSessionUnlisted) {
    outlook.note(TicketClass::a, accounting::HoldResult{true, false});
    const sessions::PaymentSession session = start();
    EXPECT_FALSE(session.goodie_held);
    operator_settles(session, PaymentOutcome::canceled, orders::OrderStatus::canceled);
    EXPECT_EQ(sessions.unlisted.count(session.psid), 1u);

    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(finish()));
    ASSERT_EQ(sessions.saved.count(session.psid), 1u);
    EXPECT_TRUE(sessions.saved.at(session.psid).goodie_held);
    EXPECT_EQ(sessions.unlisted.count(session.psid), 1u);
    const auto paid = pay(session.psid, PaymentOutcome::succeeded, "evt_fan");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(paid));
    EXPECT_EQ(std::get<WebhookSettled>(paid).status, orders::OrderStatus::paid);
    EXPECT_EQ(ledger.posted.count(session.ticket_hold_id), 1u);
    EXPECT_EQ(ledger.posted.count(session.goodie_hold_id), 1u);
    EXPECT_TRUE(orders.rows.at(session.order_id).got_goodie);
    expect_orders_whole();
}

// The cancel's void finds no hold and frees the email's slot; the hold lands afterwards, so the
// fan's own payment then posts it: PAID, the slot counted again, paid.
TEST_F(CheckoutWindowTest, ACancelBeforeTheHoldLandsLeavesTheHoldForTheFansPayment) {
    const sessions::PaymentSession session = start();
    operator_settles(session, PaymentOutcome::canceled, orders::OrderStatus::canceled);
    EXPECT_EQ(slot(session.order_id), std::nullopt);

    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(finish()));
    EXPECT_EQ(ledger.held.count(session.ticket_hold_id), 1u);
    const auto paid = pay(session.psid, PaymentOutcome::succeeded, "evt_fan");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(paid));
    EXPECT_FALSE(std::get<WebhookSettled>(paid).idempotent);
    EXPECT_EQ(std::get<WebhookSettled>(paid).status, orders::OrderStatus::paid);
    EXPECT_EQ(ledger.posted.count(session.ticket_hold_id), 1u);
    EXPECT_EQ(ledger.booked.count(session.ticket_hold_id), 0u);
    EXPECT_EQ(slot(session.order_id), std::optional<bool>(true));
    expect_orders_whole();
}

TEST_F(FlowsTest, WhenTheSessionCannotBeSavedTheHoldsAreVoidedAndTheFaultReturned) {
    calls.fail_next("sessions.save");
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

// A session its provider paid twice: the second payment meets the gate's done mark. Its event's
// account of the order offers it to the order store, which records it once as owed back; a
// redelivery of the payment that paid, a failure, or an event saying nothing of its order is
// a plain replay.
TEST_F(FlowsTest, ASecondPaymentOfAPaidSessionIsRecordedAsOwedBack) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    const EventOrder said{accepted.order_id,     TicketClass::a,     accepted.amount_cents,
                          std::string(currency), "fan1@example.com", 1'700'000'000};
    const auto paid = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1", said);
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(paid));
    EXPECT_EQ(orders.rows.at(accepted.order_id).payment_key, "evt_1");
    const std::string ticket = orders.rows.at(accepted.order_id).ticket_code;
    const auto replay = [&](PaymentOutcome outcome, const char* key,
                            std::optional<EventOrder> order) {
        const auto answer = pay(accepted.payment_session_id, outcome, key, std::move(order));
        EXPECT_TRUE(std::holds_alternative<WebhookSettled>(answer));
        if (const auto* settled = std::get_if<WebhookSettled>(&answer)) {
            EXPECT_TRUE(settled->idempotent);
            EXPECT_EQ(settled->status, orders::OrderStatus::paid);
        }
    };
    replay(PaymentOutcome::succeeded, "evt_1", said);
    EXPECT_TRUE(orders.duplicates.empty());
    for (int delivery = 0; delivery < 2; delivery++) {
        replay(PaymentOutcome::succeeded, "evt_2", said);
    }
    replay(PaymentOutcome::succeeded, "evt_3", std::nullopt);
    replay(PaymentOutcome::failed, "evt_4", said);
    ASSERT_EQ(orders.duplicates.size(), 1u);
    EXPECT_EQ(orders.duplicates[0].payment_key, "evt_2");
    EXPECT_EQ(orders.duplicates[0].order_id, accepted.order_id);
    EXPECT_EQ(orders.duplicates[0].paid_by, "evt_1");
    EXPECT_EQ(orders.duplicates[0].amount_cents, accepted.amount_cents);
    EXPECT_EQ(orders.rows.at(accepted.order_id).status, orders::OrderStatus::paid);
    EXPECT_EQ(orders.rows.at(accepted.order_id).ticket_code, ticket);
    EXPECT_EQ(ledger.posted.size(), 2u);  // The ticket's and the goodie's holds, once.
    expect_orders_whole();
}

// A key of any bytes (a NUL among them) is kept in a form PostgreSQL stores, the same for every
// delivery of the payment: its redelivery stays a replay, another key a duplicate.
TEST_F(FlowsTest, PaymentKeysOfAnyBytesAreToldApart) {
    EXPECT_EQ(orders::stored_payment_key("evt_1"), "evt_1");
    EXPECT_EQ(orders::stored_payment_key(std::string("a\0\xff", 3)), "hex:6100ff");
    EXPECT_EQ(orders::stored_payment_key("hex:6100ff"), "hex:6865783a363130306666");
    const auto accepted = std::get<CheckoutAccepted>(buy());
    const EventOrder said{accepted.order_id,     TicketClass::a,     accepted.amount_cents,
                          std::string(currency), "fan1@example.com", 1'700'000'000};
    const std::string first("k\0a", 3);
    const std::string second("k\0b", 3);
    for (const std::string& key : {first, first, second}) {
        const auto answer = pay(accepted.payment_session_id, PaymentOutcome::succeeded, key, said);
        EXPECT_TRUE(std::holds_alternative<WebhookSettled>(answer));
    }
    EXPECT_EQ(orders.rows.at(accepted.order_id).payment_key, "hex:6b0061");
    ASSERT_EQ(orders.duplicates.size(), 1u);
    EXPECT_EQ(orders.duplicates[0].payment_key, "hex:6b0062");
}

// A second payment that cannot be recorded yet is not answered as settled: the provider's
// retry records it.
TEST_F(FlowsTest, ASecondPaymentTheOrderStoreCannotTakeFailsAndItsRetryRecordsIt) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    const EventOrder said{accepted.order_id,     TicketClass::a,     accepted.amount_cents,
                          std::string(currency), "fan1@example.com", 1'700'000'000};
    pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1", said);
    calls.fail_next("orders.insert");
    const auto failed = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_2", said);
    ASSERT_TRUE(std::holds_alternative<Fault>(failed));
    EXPECT_TRUE(orders.duplicates.empty());
    const auto retried = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_2", said);
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(retried));
    ASSERT_EQ(orders.duplicates.size(), 1u);
    EXPECT_EQ(orders.duplicates[0].payment_key, "evt_2");
}

// A payment whose every delivery failed until its session expired (or that came after it) has
// no hold left to post: the event's own account of its order records it as owed back, once,
// however often it is delivered. A failure or cancel for such a session, or an event saying
// nothing of its order, still answers 404.
TEST_F(FlowsTest, APaymentForASessionThatIsGoneIsRecordedAsOwedBack) {
    const auto accepted = std::get<CheckoutAccepted>(buy(TicketClass::b));
    const std::string& psid = accepted.payment_session_id;
    const EventOrder said{accepted.order_id,     TicketClass::b,     accepted.amount_cents,
                          std::string(currency), "fan1@example.com", 1'700'000'000};
    sessions.saved.clear();  // The session expired, and its holds with it.
    for (const u128 id : std::set<u128>(ledger.held)) ledger.expire(id);
    for (PaymentOutcome unpaid : {PaymentOutcome::failed, PaymentOutcome::canceled}) {
        EXPECT_TRUE(std::holds_alternative<SessionUnknown>(pay(psid, unpaid, "evt_0", said)));
    }
    EXPECT_TRUE(
        std::holds_alternative<SessionUnknown>(pay(psid, PaymentOutcome::succeeded, "evt_1")));
    EXPECT_TRUE(orders.rows.empty());
    for (int delivery = 0; delivery < 2; delivery++) {
        const auto outcome = pay(psid, PaymentOutcome::succeeded, "evt_2", said);
        ASSERT_TRUE(std::holds_alternative<WebhookSettled>(outcome));
        EXPECT_EQ(std::get<WebhookSettled>(outcome).status, orders::OrderStatus::paid_unfulfilled);
    }
    ASSERT_EQ(orders.rows.size(), 1u);
    const orders::Order& order = orders.rows.at(accepted.order_id);
    EXPECT_EQ(order.status, orders::OrderStatus::paid_unfulfilled);
    EXPECT_EQ(order.cls, TicketClass::b);
    EXPECT_EQ(order.amount_cents, accepted.amount_cents);
    EXPECT_EQ(order.customer_email, "fan1@example.com");
    EXPECT_EQ(order.created_at_us, std::int64_t{1'700'000'000} * 1'000'000);
    EXPECT_TRUE(order.ticket_code.empty());
    EXPECT_TRUE(order.paid_at_us.has_value());
    EXPECT_TRUE(ledger.posted.empty());
    EXPECT_TRUE(sessions.gates.empty());  // No lease left, and no mark (see below).
    expect_orders_whole();
}

// A class B checkout whose session the store then lost (Redis' last second gone in a crash),
// its holds still pending, and what its payment event says of the order.
class LostSessionTest : public FlowsTest {
protected:
    std::pair<CheckoutAccepted, EventOrder> lose_session() {
        const auto accepted = std::get<CheckoutAccepted>(buy(TicketClass::b));
        const EventOrder said{accepted.order_id,     TicketClass::b,     accepted.amount_cents,
                              std::string(currency), "fan1@example.com", 1'700'000'000};
        sessions.saved.clear();
        return {accepted, said};
    }
};

// A session the store lost while its holds are still pending: the payment posts the ticket
// hold its order carries, then the goodie's, and the order is paid with a ticket, its email's
// slot kept. A ledger fault answers a fault, and the retry finishes; a later delivery finds the
// holds posted and answers with the stored order.
TEST_F(LostSessionTest, APaymentWhoseSessionWasLostPostsTheHoldsItsOrderCarries) {
    const auto [accepted, said] = lose_session();
    const std::string& psid = accepted.payment_session_id;
    ASSERT_EQ(ledger.held.size(), 2u);
    calls.fail_next("ledger.entries_of");
    EXPECT_TRUE(std::holds_alternative<Fault>(pay(psid, PaymentOutcome::succeeded, "evt_1", said)));
    calls.fail_next("ledger.commit");
    EXPECT_TRUE(std::holds_alternative<Fault>(pay(psid, PaymentOutcome::succeeded, "evt_1", said)));
    EXPECT_TRUE(orders.rows.empty());
    std::string ticket;
    for (int delivery = 0; delivery < 2; delivery++) {
        const auto outcome = pay(psid, PaymentOutcome::succeeded, "evt_1", said);
        ASSERT_TRUE(std::holds_alternative<WebhookSettled>(outcome));
        EXPECT_EQ(std::get<WebhookSettled>(outcome).status, orders::OrderStatus::paid);
        const orders::Order& order = orders.rows.at(accepted.order_id);
        EXPECT_EQ(order.status, orders::OrderStatus::paid);
        EXPECT_TRUE(order.ticket_code.starts_with("TCK-"));
        if (delivery == 0) ticket = order.ticket_code;
        EXPECT_EQ(order.ticket_code, ticket);
        EXPECT_TRUE(order.got_goodie);
    }
    EXPECT_TRUE(ledger.held.empty());
    EXPECT_EQ(ledger.posted.size(), 2u);
    expect_orders_whole();
}

// The ledger's entries read the holds as expired (this process's clock is ahead of the
// ledger's) while the ledger still holds them: the post is tried, and the ledger's answer
// decides.
TEST_F(LostSessionTest, APaymentWhoseSessionWasLostTriesAHoldItsReadingCallsExpired) {
    const auto [accepted, said] = lose_session();
    ledger.reads_expired = ledger.held;
    const auto outcome = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1", said);
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(outcome));
    EXPECT_EQ(std::get<WebhookSettled>(outcome).status, orders::OrderStatus::paid);
    EXPECT_TRUE(orders.rows.at(accepted.order_id).got_goodie);
    EXPECT_TRUE(ledger.held.empty());
    expect_orders_whole();
}

// An order stored already (here PAID_UNFULFILLED, by a build from before holds were looked
// for) keeps its status, and its hold is not posted: a ticket sold to a refunded order would
// be lost stock.
TEST_F(LostSessionTest, APaymentWhoseSessionWasLostPostsNothingForAnOrderStoredAlready) {
    const auto [accepted, said] = lose_session();
    orders::Order refunded;
    refunded.id = accepted.order_id;
    refunded.cls = TicketClass::b;
    refunded.qty = ticket_quantity;
    refunded.amount_cents = accepted.amount_cents;
    refunded.currency = std::string(currency);
    refunded.customer_email = "fan1@example.com";
    refunded.status = orders::OrderStatus::paid_unfulfilled;
    refunded.paid_at_us = 1;
    refunded.payment_key = "evt_1";
    orders.rows[accepted.order_id] = refunded;
    const auto outcome = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1", said);
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(outcome));
    EXPECT_EQ(std::get<WebhookSettled>(outcome).status, orders::OrderStatus::paid_unfulfilled);
    EXPECT_TRUE(ledger.posted.empty());
    EXPECT_EQ(ledger.held.size(), 2u);
}

// An earlier attempt posted the ticket and failed before the goodie's post and the order's
// insert: the retry finds the ticket sold to the order, posts the goodie and stores the order
// paid, not owed back.
TEST_F(LostSessionTest, APaymentWhoseSessionWasLostFinishesWhatAnEarlierAttemptPosted) {
    const auto [accepted, said] = lose_session();
    ASSERT_EQ(ledger.class_of.size(), 1u);
    const u128 ticket = ledger.class_of.begin()->first;
    ASSERT_EQ(ledger.held.erase(ticket), 1u);
    ledger.posted.insert(ticket);
    const auto outcome = pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_1", said);
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(outcome));
    EXPECT_EQ(std::get<WebhookSettled>(outcome).status, orders::OrderStatus::paid);
    const orders::Order& order = orders.rows.at(accepted.order_id);
    EXPECT_EQ(order.ticket_transfer_id, ticket);
    EXPECT_TRUE(order.got_goodie);
    EXPECT_TRUE(ledger.held.empty());
    expect_orders_whole();
}

// Two sessions lost, and an event for the first order that names the second's session (no
// session is left to tie them): the first order is paid, and the second's own payment, under
// its own session, still finds its holds and is paid too, not answered as a replay of the
// first's.
TEST_F(LostSessionTest, AnEventNamingAnotherLostSessionHidesNoPaymentOfThatSession) {
    const auto [first, first_said] = lose_session();
    const auto second = std::get<CheckoutAccepted>(buy(TicketClass::b));
    EventOrder second_said = first_said;
    second_said.order_id = second.order_id;
    sessions.saved.clear();
    const auto crossed =
        pay(second.payment_session_id, PaymentOutcome::succeeded, "evt_1", first_said);
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(crossed));
    EXPECT_EQ(orders.rows.at(first.order_id).status, orders::OrderStatus::paid);
    const auto own =
        pay(second.payment_session_id, PaymentOutcome::succeeded, "evt_2", second_said);
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(own));
    EXPECT_FALSE(std::get<WebhookSettled>(own).idempotent);
    ASSERT_EQ(orders.rows.count(second.order_id), 1u);
    EXPECT_EQ(orders.rows.at(second.order_id).status, orders::OrderStatus::paid);
    EXPECT_TRUE(ledger.held.empty());
}

// An order already stored keeps what it says: a paid one is the answer (paid by another
// payment, this one is recorded as a duplicate); a failed one becomes PAID_UNFULFILLED, as a
// payment after a failure does.
TEST_F(FlowsTest, APaymentForASessionThatIsGoneKeepsAPaidOrderAndUpgradesAFailedOne) {
    const auto kept = std::get<CheckoutAccepted>(buy());
    const auto failed = std::get<CheckoutAccepted>(buy());
    pay(kept.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    const std::string ticket = orders.rows.at(kept.order_id).ticket_code;
    pay(failed.payment_session_id, PaymentOutcome::failed, "evt_2");
    ASSERT_EQ(orders.rows.at(failed.order_id).status, orders::OrderStatus::failed);
    sessions.saved.clear();
    sessions.gates.clear();  // The done marks are 24 h old.
    const auto said = [](const CheckoutAccepted& accepted) {
        return EventOrder{accepted.order_id,     TicketClass::a,    accepted.amount_cents,
                          std::string(currency), "fan@example.com", 1'700'000'000};
    };
    const auto replay =
        pay(kept.payment_session_id, PaymentOutcome::succeeded, "evt_3", said(kept));
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(replay));
    EXPECT_EQ(std::get<WebhookSettled>(replay).status, orders::OrderStatus::paid);
    EXPECT_EQ(orders.rows.at(kept.order_id).ticket_code, ticket);
    ASSERT_EQ(orders.duplicates.size(), 1u);
    EXPECT_EQ(orders.duplicates[0].payment_key, "evt_3");
    const auto late =
        pay(failed.payment_session_id, PaymentOutcome::succeeded, "evt_4", said(failed));
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(late));
    EXPECT_EQ(std::get<WebhookSettled>(late).status, orders::OrderStatus::paid_unfulfilled);
    EXPECT_EQ(orders.rows.at(failed.order_id).status, orders::OrderStatus::paid_unfulfilled);
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
    calls.fail_next("orders.insert");
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

// A delivery that took over a stalled delivery's lease can find the session already gone: the
// stalled one's done mark, replacing the lease and dropping the session, landed between the
// take and the lookup. The gate, asked again, answers it as a replay rather than 404.
TEST_F(FlowsTest, ASessionDroppedByADoneMarkAfterTheTakeIsAReplayNotUnknown) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    const std::string psid = accepted.payment_session_id;
    sessions.before_find = [&] {
        sessions.gates[psid] = {"", "PAID"};
        sessions.saved.erase(psid);
    };
    const auto outcome = pay(psid, PaymentOutcome::succeeded, "evt_1");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(outcome));
    EXPECT_TRUE(std::get<WebhookSettled>(outcome).idempotent);
    EXPECT_EQ(std::get<WebhookSettled>(outcome).status, orders::OrderStatus::paid);
    EXPECT_EQ(sessions.gates.at(psid).done_status, "PAID");
    EXPECT_TRUE(orders.rows.empty());
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
    calls.die_after_next("orders.insert");
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
    calls.fail_next("sessions.finish_gate");
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

// A store answering that a paid order stayed FAILED breaks the rule every order follows: the
// webhook stops the process rather than tell the provider a payment was not taken.
using FlowsDeathTest = FlowsTest;
TEST_F(FlowsDeathTest, AStoreThatKeepsAPaidOrderUnpaidStopsTheProcess) {
    const auto accepted = std::get<CheckoutAccepted>(buy());
    die_after_the_order_commits(accepted.payment_session_id, PaymentOutcome::failed);
    orders.keeps_first_row = true;
    EXPECT_DEATH(pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_2"),
                 "assertion failed: .*may_replace.* \\(order " + accepted.order_id +
                     " stored as FAILED after PAID_UNFULFILLED\\)");
}

// The done mark takes the session with it, in the same call and before the answer: a paid
// order's session is gone, a failed one's only leaves the pending list (a payment may still
// follow), and no other call drops it.
TEST_F(FlowsTest, TheDoneMarkDropsTheSessionInTheSameCall) {
    const auto paid = std::get<CheckoutAccepted>(buy());
    const auto failed = std::get<CheckoutAccepted>(buy());
    const std::size_t first = calls.made();
    pay(paid.payment_session_id, PaymentOutcome::succeeded, "evt_1");
    EXPECT_EQ(calls.last_made(), "sessions.finish_gate") << calls.names_since(first);
    EXPECT_EQ(sessions.saved.count(paid.payment_session_id), 0u);
    EXPECT_EQ(sessions.gates.at(paid.payment_session_id).done_status, "PAID");

    const std::size_t second = calls.made();
    pay(failed.payment_session_id, PaymentOutcome::failed, "evt_2");
    EXPECT_EQ(calls.last_made(), "sessions.finish_gate") << calls.names_since(second);
    EXPECT_EQ(sessions.saved.count(failed.payment_session_id), 1u);
    EXPECT_EQ(sessions.unlisted.count(failed.payment_session_id), 1u);
    EXPECT_EQ(calls.names_since(first).find("sessions.remove"), std::string::npos);
}

// Every call of each flow fails in turn. The happy path is run once to count its calls; then,
// for each n up to that count, the n-th call fails: the answer is a clean fault, nothing is
// left half-done, and the provider's retry ends exactly where the happy path does. n = count + 1
// fails nothing, which shows the count covers every call. The same loop kills the process after
// each call before the answer instead, or loses each call's reply after the call took effect:
// the redelivery after the lease expired finishes the work once.
class FailEveryCallTest : public FlowsTest {
protected:
    // What happens between checkout and the delivery under test.
    enum class Before { nothing, holds_expired, holds_expired_sold_out, a_failure_settled };

    struct Delivery {
        Before before;
        PaymentOutcome outcome;
        orders::OrderStatus ends;
    };

    CheckoutAccepted prepare(Before before) {
        ledger.tickets_left = 1000;
        ledger.goodies_left = 1000;
        const auto accepted = std::get<CheckoutAccepted>(buy());
        const sessions::PaymentSession session = sessions.saved.at(accepted.payment_session_id);
        if (before == Before::holds_expired || before == Before::holds_expired_sold_out) {
            ledger.expire(session.ticket_hold_id);
            ledger.expire(session.goodie_hold_id);
        }
        if (before == Before::holds_expired_sold_out) ledger.tickets_left = 0;
        if (before == Before::a_failure_settled) {
            const auto failed = pay(accepted.payment_session_id, PaymentOutcome::failed, "evt_f");
            EXPECT_TRUE(std::holds_alternative<WebhookSettled>(failed));
        }
        return accepted;
    }

    // Nothing half-done, whatever failed: no lease held, no hold that no session names, every
    // order whole.
    void expect_nothing_leaked() {
        EXPECT_FALSE(sessions.lease_held());
        EXPECT_TRUE(orphan_holds().empty());
        expect_orders_whole();
    }

    // Where every delivery of `accepted` ends: its order stored once with `status`, the gate
    // done with it, and the ledger's ticket taken once (posted, or booked late once).
    void expect_settled(const CheckoutAccepted& accepted, const Delivery& delivery,
                        std::uint64_t tickets_before) {
        const std::string& psid = accepted.payment_session_id;
        ASSERT_EQ(orders.rows.count(accepted.order_id), 1u);
        EXPECT_EQ(orders.rows.at(accepted.order_id).status, delivery.ends);
        ASSERT_EQ(sessions.gates.count(psid), 1u);
        EXPECT_EQ(sessions.gates.at(psid).done_status, orders::status_name(delivery.ends));
        // Dropped with the done mark: a paid order's session is gone, an unpaid one's unlisted.
        if (orders::is_paid(delivery.ends)) {
            EXPECT_EQ(sessions.saved.count(psid), 0u);
        } else {
            EXPECT_EQ(sessions.unlisted.count(psid), 1u);
        }
        const bool late = delivery.before == Before::holds_expired;
        EXPECT_EQ(ledger.tickets_left, tickets_before - (late ? 1 : 0));
        expect_nothing_leaked();
    }

    WebhookOutcome deliver(const CheckoutAccepted& accepted, const Delivery& delivery) {
        return pay(accepted.payment_session_id, delivery.outcome, "evt_1");
    }

    // The calls of one delivery on the happy path; none may fail.
    std::size_t count_calls(const Delivery& delivery) {
        const CheckoutAccepted accepted = prepare(delivery.before);
        const std::uint64_t tickets_before = ledger.tickets_left;
        const std::size_t first = calls.made();
        const auto answer = deliver(accepted, delivery);
        const std::size_t count = calls.made() - first;
        EXPECT_TRUE(std::holds_alternative<WebhookSettled>(answer));
        expect_settled(accepted, delivery, tickets_before);
        return count;
    }

    void fail_each_call(const Delivery& delivery) {
        const std::size_t count = count_calls(delivery);
        ASSERT_GT(count, 0u);
        for (std::size_t n = 1; n <= count + 1; n++) {
            SCOPED_TRACE("call " + std::to_string(n) + " of " + std::to_string(count) + " fails");
            const CheckoutAccepted accepted = prepare(delivery.before);
            const std::uint64_t tickets_before = ledger.tickets_left;
            const std::size_t first = calls.made();
            calls.fail_nth(n);
            const auto answer = deliver(accepted, delivery);
            const bool fired = !calls.armed();
            calls.disarm();
            if (n > count) {
                EXPECT_FALSE(fired);
                EXPECT_EQ(calls.made() - first, count);
                EXPECT_TRUE(std::holds_alternative<WebhookSettled>(answer));
                expect_settled(accepted, delivery, tickets_before);
                continue;
            }
            ASSERT_TRUE(fired) << calls.names_since(first);
            const std::string failed = calls.last_failed();
            SCOPED_TRACE("the failing call: " + failed);
            ASSERT_TRUE(std::holds_alternative<Fault>(answer));
            EXPECT_EQ(std::get<Fault>(answer), Fault::unavailable);
            // Not done: the provider's retry is processed, not answered as a replay.
            const auto gate = sessions.gates.find(accepted.payment_session_id);
            EXPECT_TRUE(gate == sessions.gates.end() || gate->second.done_status.empty() ||
                        delivery.before == Before::a_failure_settled);
            expect_nothing_leaked();
            const auto retried = deliver(accepted, delivery);
            ASSERT_TRUE(std::holds_alternative<WebhookSettled>(retried));
            EXPECT_EQ(std::get<WebhookSettled>(retried).status, delivery.ends);
            EXPECT_FALSE(std::get<WebhookSettled>(retried).idempotent);
            expect_settled(accepted, delivery, tickets_before);
        }
    }

    enum class Breakage { call_fails, reply_lost };

    // Each call a checkout makes in turn fails, or takes effect and then answers a fault as when
    // its reply is lost, `guess` setting what the latest holds found before each checkout: the
    // checkout answers the fault and leaves nothing behind, no session, no hold, no email slot.
    void break_each_checkout_call(const std::function<void()>& guess, Breakage breakage) {
        config.tickets_per_email = 2;
        guess();
        const std::size_t first_count = calls.made();
        ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(buy()));
        const std::size_t count = calls.made() - first_count;
        ASSERT_GT(count, 1u) << calls.names_since(first_count);
        ASSERT_EQ(email_slots_counted(), 1u);
        for (std::size_t n = 1; n <= count + 1; n++) {
            SCOPED_TRACE("call " + std::to_string(n) + " of " + std::to_string(count) +
                         (breakage == Breakage::call_fails ? " fails" : " loses its reply"));
            const std::size_t sessions_before = sessions.saved.size();
            const std::size_t slots_before = email_slots_counted();
            guess();
            const std::size_t first = calls.made();
            if (breakage == Breakage::call_fails) calls.fail_nth(n);
            if (breakage == Breakage::reply_lost) calls.lose_reply_of_nth(n);
            const auto outcome = buy();
            const bool fired = !calls.armed();
            calls.disarm();
            EXPECT_TRUE(orphan_holds().empty()) << calls.names_since(first);
            EXPECT_TRUE(orders.rows.empty());
            if (n > count) {
                EXPECT_FALSE(fired);
                EXPECT_EQ(calls.made() - first, count);
                EXPECT_TRUE(std::holds_alternative<CheckoutAccepted>(outcome));
                continue;
            }
            ASSERT_TRUE(fired) << calls.names_since(first);
            SCOPED_TRACE("the broken call: " + calls.last_failed());
            ASSERT_TRUE(std::holds_alternative<Fault>(outcome));
            EXPECT_EQ(std::get<Fault>(outcome), Fault::unavailable);
            EXPECT_EQ(sessions.saved.size(), sessions_before) << calls.names_since(first);
            EXPECT_EQ(email_slots_counted(), slots_before) << calls.names_since(first);
        }
    }

    void fail_each_checkout_call(const std::function<void()>& guess) {
        break_each_checkout_call(guess, Breakage::call_fails);
    }
    void lose_each_checkout_reply(const std::function<void()>& guess) {
        break_each_checkout_call(guess, Breakage::reply_lost);
    }

    std::size_t email_slots_counted() const {
        std::size_t counted = 0;
        for (const auto& [email, slots] : sessions.email_slots) counted += slots.size();
        return counted;
    }

    enum class Interruption { process_dies, reply_lost };

    // After each call of the delivery in turn, the process dies before the answer, or the
    // call's reply is lost after the call took effect (the delivery answers the fault). Once the
    // lease has expired, the redelivery finishes the work once; after the last call, the done
    // mark, it answers as a replay.
    void interrupt_after_each_call(const Delivery& delivery, Interruption interruption) {
        const std::size_t count = count_calls(delivery);
        ASSERT_GT(count, 1u);
        EXPECT_EQ(calls.last_made(), "sessions.finish_gate");
        for (std::size_t n = 1; n <= count; n++) {
            SCOPED_TRACE("interrupted after call " + std::to_string(n) + " of " +
                         std::to_string(count));
            const CheckoutAccepted accepted = prepare(delivery.before);
            const std::uint64_t tickets_before = ledger.tickets_left;
            if (interruption == Interruption::process_dies) {
                calls.die_after_nth(n);
                EXPECT_THROW(deliver(accepted, delivery), ProcessDied);
            } else {
                calls.lose_reply_of_nth(n);
                const auto answer = deliver(accepted, delivery);
                EXPECT_TRUE(std::holds_alternative<Fault>(answer)) << calls.last_failed();
            }
            EXPECT_FALSE(calls.armed());
            calls.disarm();
            sessions.expire_leases();
            EXPECT_TRUE(orphan_holds().empty());
            expect_orders_whole();
            const auto redelivered = deliver(accepted, delivery);
            ASSERT_TRUE(std::holds_alternative<WebhookSettled>(redelivered));
            EXPECT_EQ(std::get<WebhookSettled>(redelivered).status, delivery.ends);
            EXPECT_EQ(std::get<WebhookSettled>(redelivered).idempotent, n == count);
            expect_settled(accepted, delivery, tickets_before);
        }
    }

    void die_after_each_call(const Delivery& delivery) {
        interrupt_after_each_call(delivery, Interruption::process_dies);
    }
    void lose_each_reply(const Delivery& delivery) {
        interrupt_after_each_call(delivery, Interruption::reply_lost);
    }

    static constexpr Delivery payment{Before::nothing, PaymentOutcome::succeeded,
                                      orders::OrderStatus::paid};
    static constexpr Delivery failure{Before::nothing, PaymentOutcome::failed,
                                      orders::OrderStatus::failed};
    static constexpr Delivery cancel{Before::nothing, PaymentOutcome::canceled,
                                     orders::OrderStatus::canceled};
    static constexpr Delivery late_payment{Before::holds_expired, PaymentOutcome::succeeded,
                                           orders::OrderStatus::paid};
    static constexpr Delivery late_payment_sold_out{Before::holds_expired_sold_out,
                                                    PaymentOutcome::succeeded,
                                                    orders::OrderStatus::paid_unfulfilled};
    static constexpr Delivery payment_after_failure{Before::a_failure_settled,
                                                    PaymentOutcome::succeeded,
                                                    orders::OrderStatus::paid_unfulfilled};
};

// The session is written beside the hold, with the goodie guessed right.
TEST_F(FailEveryCallTest, Checkout) {
    fail_each_checkout_call([] {});
}

// The class looked sold out: the hold comes first, then the session.
TEST_F(FailEveryCallTest, CheckoutOfAClassThatLookedSoldOut) {
    fail_each_checkout_call([&] { outlook.note(TicketClass::a, accounting::HoldResult{}); });
}

// The goodies looked gone but one is held: the session's goodie is corrected.
TEST_F(FailEveryCallTest, CheckoutWhoseGoodieWasGuessedWrong) {
    fail_each_checkout_call([&] {
        outlook.note(TicketClass::a, accounting::HoldResult{true, false});
    });
}

// The replies lost after the calls took effect: the hold, the session's write (which may have
// landed although it answered a fault), the email's slot.
TEST_F(FailEveryCallTest, CheckoutLosingEachReply) {
    lose_each_checkout_reply([] {});
}

TEST_F(FailEveryCallTest, CheckoutOfAClassThatLookedSoldOutLosingEachReply) {
    lose_each_checkout_reply([&] { outlook.note(TicketClass::a, accounting::HoldResult{}); });
}

TEST_F(FailEveryCallTest, CheckoutWhoseGoodieWasGuessedWrongLosingEachReply) {
    lose_each_checkout_reply([&] {
        outlook.note(TicketClass::a, accounting::HoldResult{true, false});
    });
}

TEST_F(FailEveryCallTest, Payment) { fail_each_call(payment); }
TEST_F(FailEveryCallTest, Failure) { fail_each_call(failure); }
TEST_F(FailEveryCallTest, Cancel) { fail_each_call(cancel); }
TEST_F(FailEveryCallTest, LatePayment) { fail_each_call(late_payment); }
TEST_F(FailEveryCallTest, LatePaymentWithNothingLeft) { fail_each_call(late_payment_sold_out); }
TEST_F(FailEveryCallTest, PaymentAfterAFailure) { fail_each_call(payment_after_failure); }

TEST_F(FailEveryCallTest, PaymentDyingAfterEachCall) { die_after_each_call(payment); }
TEST_F(FailEveryCallTest, FailureDyingAfterEachCall) { die_after_each_call(failure); }
TEST_F(FailEveryCallTest, LatePaymentDyingAfterEachCall) { die_after_each_call(late_payment); }
TEST_F(FailEveryCallTest, PaymentAfterAFailureDyingAfterEachCall) {
    die_after_each_call(payment_after_failure);
}

TEST_F(FailEveryCallTest, PaymentLosingEachReply) { lose_each_reply(payment); }
TEST_F(FailEveryCallTest, FailureLosingEachReply) { lose_each_reply(failure); }
TEST_F(FailEveryCallTest, LatePaymentLosingEachReply) { lose_each_reply(late_payment); }
TEST_F(FailEveryCallTest, LatePaymentWithNothingLeftLosingEachReply) {
    lose_each_reply(late_payment_sold_out);
}
TEST_F(FailEveryCallTest, PaymentAfterAFailureLosingEachReply) {
    lose_each_reply(payment_after_failure);
}

// Each JSON handler answers a failing store call with 503 and Retry-After (fans and the
// provider retry), never a 500, whichever of its calls fails.
TEST_F(FailEveryCallTest, EveryApiHandlerAnswersAFailingCallWith503) {
    config.bench_endpoints = true;
    http::Router router;
    router.add(api_routes(services, [](const http::Request&) { return true; }));
    const CheckoutAccepted paid = prepare(Before::nothing);
    pay(paid.payment_session_id, PaymentOutcome::succeeded, "evt_paid");
    const auto request = [](http::Method method, std::string path, std::string query,
                            std::string body) {
        http::Request made;
        made.method = method;
        made.target = query.empty() ? path : path + "?" + query;
        made.path = std::move(path);
        made.query = std::move(query);
        made.body = std::move(body);
        return made;
    };
    const auto signed_payment = [&] {
        const CheckoutAccepted accepted = prepare(Before::nothing);
        const std::string body = R"({"type":"payment.succeeded","payment_session_id":")" +
                                 accepted.payment_session_id + R"("})";
        http::Request made = request(http::Method::post, "/payments/webhook", "", body);
        made.headers.emplace_back("x-mockpay-signature",
                                  base64_encode(hmac_sha256(config.mock_secret, body)));
        return made;
    };
    const std::vector<std::pair<std::string, std::function<http::Request()>>> routes = {
        {"order",
         [&] { return request(http::Method::get, "/api/orders/" + paid.order_id, "", ""); }},
        {"inventory", [&] { return request(http::Method::get, "/api/inventory", "", ""); }},
        {"pending", [&] { return request(http::Method::get, "/api/pending", "", ""); }},
        {"checkout",
         [&] {
             return request(http::Method::post, "/api/checkout", "",
                            R"({"cls":"A","customer_email":"fan@example.com"})");
         }},
        {"webhook", signed_payment},
        {"reserve", [&] { return request(http::Method::get, "/api/accounting/reserve", "", ""); }},
        {"commit",
         [&] {
             return request(http::Method::get, "/api/accounting/commit",
                            "tb_transfer_id=1&goodie_tb_transfer_id=0", "");
         }},
    };
    const auto handle = [&](http::Request& made) {
        return testing::run_async(io, [&] { return router.handle(made); });
    };
    for (const auto& [name, make] : routes) {
        SCOPED_TRACE(name);
        http::Request plain = make();
        const std::size_t first_counted = calls.made();
        EXPECT_EQ(handle(plain).status, 200u);
        const std::size_t count = calls.made() - first_counted;
        ASSERT_GT(count, 0u);
        for (std::size_t n = 1; n <= count + 1; n++) {
            SCOPED_TRACE("call " + std::to_string(n) + " of " + std::to_string(count) + " fails");
            http::Request made = make();
            calls.fail_nth(n);
            const http::Response response = handle(made);
            const bool fired = !calls.armed();
            calls.disarm();
            EXPECT_EQ(fired, n <= count);
            if (n > count) {
                EXPECT_EQ(response.status, 200u);
                continue;
            }
            EXPECT_EQ(response.status, 503u) << calls.last_failed() << ": " << response.body;
            EXPECT_EQ(http::find_header(response.headers, "Retry-After"), "1");
        }
    }
    // The isolated reserve holds stock without a session on purpose (it expires); the rest
    // must be whole.
    EXPECT_FALSE(sessions.lease_held());
    expect_orders_whole();
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

TEST(CheckoutInput, AcceptsSeatsOrBestAvailableWithoutAClass) {
    const auto named = parse_checkout_request(R"({"customer_email":"a@b.co","seats":[9,2,5]})");
    ASSERT_TRUE(std::holds_alternative<CheckoutRequest>(named));
    EXPECT_EQ(std::get<CheckoutRequest>(named).seats, (std::vector<seating::SeatId>{2, 5, 9}));
    EXPECT_TRUE(std::get<CheckoutRequest>(named).wants_seats());
    const auto best = parse_checkout_request(
        R"({"customer_email":"a@b.co","best_available":{"category":"front","count":4}})");
    ASSERT_TRUE(std::holds_alternative<CheckoutRequest>(best));
    EXPECT_EQ(std::get<CheckoutRequest>(best).best_available, (BestAvailableAsk{"front", 4}));
    for (
        const char* body : {
            R"({"customer_email":"a@b.co","seats":[]})",
            R"({"customer_email":"a@b.co","seats":[1,1]})",
            R"({"customer_email":"a@b.co","seats":[1.5]})",
            R"({"customer_email":"a@b.co","seats":[-1]})",
            R"({"customer_email":"a@b.co","seats":[4294967296]})",
            R"({"customer_email":"a@b.co","seats":[1,2,3,4,5,6,7,8,9]})",
            R"({"customer_email":"a@b.co","seats":"1"})",
            R"({"customer_email":"a@b.co","seats":null})",
            R"({"customer_email":"a@b.co","seats":[1],"cls":"A"})",
            R"({"customer_email":"a@b.co","seats":[1],"best_available":{"category":"f","count":1}})",
            R"({"customer_email":"a@b.co","best_available":{"category":"f","count":9}})",
            R"({"customer_email":"a@b.co","best_available":{"category":"","count":1}})",
            R"({"customer_email":"a@b.co","best_available":{"count":1}})",
            R"({"customer_email":"a@b.co","best_available":{"category":"f","count":"1"}})",
            R"({"customer_email":"a@b.co","best_available":[]})",
            R"({"seats":[1]})",
        }) {
        EXPECT_TRUE(std::holds_alternative<InvalidInput>(parse_checkout_request(body))) << body;
    }
}

}  // namespace
}  // namespace tigerfans::flows

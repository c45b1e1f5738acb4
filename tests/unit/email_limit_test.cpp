// The email limit (TICKETS_PER_EMAIL) against the in-memory doubles: checkout claims a slot
// before its hold and frees it when nothing is held, the webhook keeps a paid slot and frees an
// unpaid one, and a slot whose time is up stops counting.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "flow_fakes.hpp"
#include "tigerfans/flows/api.hpp"
#include "tigerfans/flows/email_limit.hpp"
#include "tigerfans/http/router.hpp"

namespace tigerfans::flows {
namespace {

using testing_fakes::ProcessDied;

class EmailLimitTest : public testing_fakes::FlowFixture {
protected:
    EmailLimitTest() { config.tickets_per_email = 2; }

    // A checkout by `email` that must be accepted.
    CheckoutAccepted accepted_for(const std::string& email) {
        const CheckoutOutcome outcome = buy_as(email);
        EXPECT_TRUE(std::holds_alternative<CheckoutAccepted>(outcome));
        return std::holds_alternative<CheckoutAccepted>(outcome)
                   ? std::get<CheckoutAccepted>(outcome)
                   : CheckoutAccepted{};
    }

    bool refused(const std::string& email) {
        const CheckoutOutcome outcome = buy_as(email);
        const auto* reached = std::get_if<EmailLimitReached>(&outcome);
        return reached != nullptr && reached->limit == config.tickets_per_email;
    }

    std::size_t slots() const { return sessions.slots_of("fan@example.com"); }
};

TEST(EmailNormalization, TrimsAndLowerCases) {
    EXPECT_EQ(normalize_email("  Fan.Name@Example.ORG\t"), "fan.name@example.org");
    EXPECT_EQ(normalize_email("fan@example.com"), "fan@example.com");
    EXPECT_EQ(normalize_email(" \n"), "");
}

TEST(EmailNormalization, AHeldSlotCountsAsLongAsAPaymentMayStillBook) {
    config::Config config;
    config.reservation_ttl_s = 300;
    EXPECT_EQ(held_slot_ms(config), (300u + limits::session_ttl_margin_s) * 1000u);
}

TEST_F(EmailLimitTest, AtTheLimitACheckoutIsRefusedAndHoldsNothing) {
    accepted_for("fan@example.com");
    accepted_for("FAN@Example.com");  // The same address, counted once normalised.
    const std::size_t holds = ledger.held.size();
    const std::size_t saved = sessions.saved.size();
    EXPECT_TRUE(refused(" fan@EXAMPLE.com "));
    EXPECT_EQ(ledger.held.size(), holds);
    EXPECT_EQ(sessions.saved.size(), saved);
    EXPECT_EQ(slots(), 2u);
    accepted_for("other@example.com");  // Another address has slots of its own.
}

TEST_F(EmailLimitTest, ASoldOutCheckoutFreesItsSlot) {
    ledger.tickets_left = 0;
    EXPECT_TRUE(std::holds_alternative<SoldOut>(buy_as("fan@example.com")));
    EXPECT_EQ(slots(), 0u);
}

TEST_F(EmailLimitTest, AFailedHoldOrSaveFreesTheSlot) {
    for (const char* failing : {"ledger.hold", "sessions.save"}) {
        SCOPED_TRACE(failing);
        calls.fail_next(failing);
        const CheckoutOutcome outcome = buy_as("fan@example.com");
        ASSERT_TRUE(std::holds_alternative<Fault>(outcome));
        EXPECT_EQ(slots(), 0u);
        EXPECT_TRUE(orphan_holds().empty());
    }
}

TEST_F(EmailLimitTest, AFailedClaimIsAFaultAndHoldsNothing) {
    calls.fail_next("sessions.claim_email_slot");
    const CheckoutOutcome outcome = buy_as("fan@example.com");
    ASSERT_TRUE(std::holds_alternative<Fault>(outcome));
    EXPECT_EQ(std::get<Fault>(outcome), Fault::unavailable);
    EXPECT_TRUE(ledger.held.empty());
}

// A claim whose answer was lost counted; freeing it fails while the store reconnects, and is
// retried in the background until it lands.
TEST_F(EmailLimitTest, TheSlotOfAClaimWhoseAnswerWasLostIsFreedInTheBackground) {
    retry_undos();
    calls.lose_reply_of_nth(1);
    calls.fail_next("sessions.settle_email_slot");
    const CheckoutOutcome outcome = buy_as("fan@example.com");
    ASSERT_TRUE(std::holds_alternative<Fault>(outcome));
    EXPECT_EQ(calls.last_failed(), "sessions.settle_email_slot");
    EXPECT_EQ(slots(), 1u);
    drain_background();
    EXPECT_EQ(slots(), 0u);
    EXPECT_TRUE(ledger.held.empty());
}

TEST_F(EmailLimitTest, APaidTicketKeepsCountingAfterItsHoldTime) {
    const CheckoutAccepted first = accepted_for("fan@example.com");
    accepted_for("fan@example.com");
    pay(first.payment_session_id, PaymentOutcome::succeeded, "evt_paid");
    sessions.expire_email_slots();  // The unpaid one's time is up; the paid one stays.
    EXPECT_EQ(slots(), 1u);
    accepted_for("fan@example.com");
    EXPECT_TRUE(refused("fan@example.com"));
}

TEST_F(EmailLimitTest, AFailedOrCanceledPaymentFreesTheSlot) {
    for (const PaymentOutcome outcome : {PaymentOutcome::failed, PaymentOutcome::canceled}) {
        const CheckoutAccepted accepted = accepted_for("fan@example.com");
        EXPECT_EQ(slots(), 1u);
        pay(accepted.payment_session_id, outcome, "evt_unpaid");
        EXPECT_EQ(slots(), 0u);
    }
}

TEST_F(EmailLimitTest, AHoldWhoseTimeIsUpStopsCounting) {
    accepted_for("fan@example.com");
    accepted_for("fan@example.com");
    EXPECT_TRUE(refused("fan@example.com"));
    sessions.expire_email_slots();
    accepted_for("fan@example.com");
}

// A payment after a failure books nothing (PAID_UNFULFILLED, refunded): no ticket, no slot.
TEST_F(EmailLimitTest, APaymentWithoutATicketLeavesNoSlot) {
    const CheckoutAccepted accepted = accepted_for("fan@example.com");
    pay(accepted.payment_session_id, PaymentOutcome::failed, "evt_failed");
    EXPECT_EQ(slots(), 0u);
    pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_paid");
    EXPECT_EQ(orders.rows.at(accepted.order_id).status, orders::OrderStatus::paid_unfulfilled);
    EXPECT_EQ(slots(), 0u);
}

TEST_F(EmailLimitTest, WhenTheSlotCannotBeSettledTheRetrySettlesIt) {
    const CheckoutAccepted accepted = accepted_for("fan@example.com");
    calls.fail_next("sessions.settle_email_slot");
    const WebhookOutcome failed =
        pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_paid");
    ASSERT_TRUE(std::holds_alternative<Fault>(failed));
    EXPECT_FALSE(sessions.lease_held());
    const WebhookOutcome retried =
        pay(accepted.payment_session_id, PaymentOutcome::succeeded, "evt_paid");
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(retried));
    EXPECT_FALSE(std::get<WebhookSettled>(retried).idempotent);
    sessions.expire_email_slots();
    EXPECT_EQ(slots(), 1u);
}

// A process that dies between the claim and the hold leaves a slot that nothing frees: it
// counts until its time is up, then the address may buy again.
TEST_F(EmailLimitTest, ACrashAfterTheClaimLeavesASlotThatEndsByItsTime) {
    accepted_for("fan@example.com");
    calls.die_after_next("sessions.claim_email_slot");
    EXPECT_THROW(buy_as("fan@example.com"), ProcessDied);
    EXPECT_TRUE(ledger.held.size() == 2u);  // The first checkout's ticket and goodie only.
    EXPECT_TRUE(refused("fan@example.com"));
    sessions.expire_email_slots();
    accepted_for("fan@example.com");
}

TEST_F(EmailLimitTest, WithoutALimitNoSlotIsClaimed) {
    config.tickets_per_email = 0;
    const std::size_t first = calls.made();
    for (int i = 0; i < 5; i++) accepted_for("fan@example.com");
    EXPECT_EQ(calls.names_since(first).find("email_slot"), std::string::npos);
    EXPECT_TRUE(sessions.email_slots.empty());
}

TEST_F(EmailLimitTest, TheApiAnswers409WithTheLimit) {
    http::Router router;
    router.add(api_routes(services, [](const http::Request&) { return true; }));
    accepted_for("fan@example.com");
    accepted_for("fan@example.com");
    http::Request request;
    request.method = http::Method::post;
    request.target = request.path = "/api/checkout";
    request.body = R"({"cls":"A","customer_email":"fan@example.com"})";
    const http::Response response = testing::run_async(io, [&] { return router.handle(request); });
    EXPECT_EQ(response.status, 409u);
    const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
    EXPECT_EQ(body.value("error", ""), "ticket_limit");
    EXPECT_NE(body.value("detail", "").find("at most 2 "), std::string::npos) << response.body;
}

}  // namespace
}  // namespace tigerfans::flows

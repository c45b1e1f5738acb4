#include "support/session_expectations.hpp"

#include <gtest/gtest.h>

namespace tigerfans::testing {

void expect_same_session(const sessions::PaymentSession& actual,
                         const sessions::PaymentSession& expected) {
    EXPECT_EQ(actual.psid, expected.psid);
    EXPECT_EQ(actual.order_id, expected.order_id);
    EXPECT_EQ(actual.cls, expected.cls);
    EXPECT_EQ(actual.customer_email, expected.customer_email);
    EXPECT_TRUE(actual.ticket_hold_id == expected.ticket_hold_id);
    EXPECT_TRUE(actual.goodie_hold_id == expected.goodie_hold_id);
    EXPECT_EQ(actual.goodie_held, expected.goodie_held);
    EXPECT_EQ(actual.amount_cents, expected.amount_cents);
    EXPECT_EQ(actual.currency, expected.currency);
    EXPECT_EQ(actual.created_at_us, expected.created_at_us);
    EXPECT_EQ(actual.seats, expected.seats);
    EXPECT_EQ(actual.seat_hold_ids, expected.seat_hold_ids);
}

}  // namespace tigerfans::testing

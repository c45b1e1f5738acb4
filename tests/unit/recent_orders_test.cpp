// The memory of recently written paid orders: only rows that never change are kept, an id is
// kept once, and the oldest leave first when it is full.
#include "orders/recent_orders.hpp"

#include <gtest/gtest.h>

namespace tigerfans::orders {
namespace {

Order paid_order(std::string id, std::string email = "fan@example.com") {
    Order order;
    order.id = std::move(id);
    order.status = OrderStatus::paid;
    order.customer_email = std::move(email);
    order.ticket_code = "TCK-" + order.id;
    order.payment_key = "evt_" + order.id;
    return order;
}

TEST(RecentOrders, KeepsOnlyPaidOrdersWithAnEmailAndAPaymentKey) {
    EXPECT_TRUE(RecentOrders::may_keep(paid_order("a")));
    Order unfulfilled = paid_order("b");
    unfulfilled.status = OrderStatus::paid_unfulfilled;
    EXPECT_TRUE(RecentOrders::may_keep(unfulfilled));
    for (OrderStatus status : {OrderStatus::failed, OrderStatus::canceled}) {
        Order unpaid = paid_order("c");
        unpaid.status = status;
        EXPECT_FALSE(RecentOrders::may_keep(unpaid));  // A payment may still take it over.
    }
    EXPECT_FALSE(RecentOrders::may_keep(paid_order("d", "")));  // Its email is filled in later.
    Order keyless = paid_order("e");
    keyless.payment_key.clear();
    EXPECT_FALSE(RecentOrders::may_keep(keyless));  // The first payment that arrives gives one.
}

TEST(RecentOrders, FindsWhatItKeptAndNothingElse) {
    RecentOrders recent(4);
    recent.remember(paid_order("a"));
    recent.remember(paid_order("b"));
    ASSERT_NE(recent.find("a"), nullptr);
    EXPECT_EQ(recent.find("a")->ticket_code, "TCK-a");
    EXPECT_EQ(recent.find("b")->id, "b");
    EXPECT_EQ(recent.find("c"), nullptr);
    EXPECT_EQ(recent.find(""), nullptr);
}

TEST(RecentOrders, AnIdKeptAlreadyStaysAsItWas) {
    RecentOrders recent(4);
    recent.remember(paid_order("a"));
    Order again = paid_order("a");
    again.ticket_code = "TCK-other";
    recent.remember(again);
    EXPECT_EQ(recent.size(), 1u);
    EXPECT_EQ(recent.find("a")->ticket_code, "TCK-a");
}

TEST(RecentOrders, WhenFullTheOldestLeaveFirst) {
    RecentOrders recent(3);
    for (const char* id : {"a", "b", "c", "d", "e"}) recent.remember(paid_order(id));
    EXPECT_EQ(recent.size(), 3u);
    EXPECT_EQ(recent.find("a"), nullptr);
    EXPECT_EQ(recent.find("b"), nullptr);
    for (const char* id : {"c", "d", "e"}) {
        ASSERT_NE(recent.find(id), nullptr) << id;
        EXPECT_EQ(recent.find(id)->ticket_code, std::string("TCK-") + id);
    }
}

// Many more orders than it keeps, with ids long enough to live outside the string: every
// view in the index keeps pointing at its own order's id.
TEST(RecentOrders, ItsIndexStaysRightOverManyTurnsOfTheRing) {
    RecentOrders recent(100);
    for (int i = 0; i < 10'000; i++)
        recent.remember(paid_order("order-" + std::to_string(i) + "-with-a-long-id"));
    EXPECT_EQ(recent.size(), 100u);
    for (int i = 9'900; i < 10'000; i++) {
        const std::string id = "order-" + std::to_string(i) + "-with-a-long-id";
        const Order* kept = recent.find(id);
        ASSERT_NE(kept, nullptr) << id;
        EXPECT_EQ(kept->id, id);
    }
    EXPECT_EQ(recent.find("order-9899-with-a-long-id"), nullptr);
}

}  // namespace
}  // namespace tigerfans::orders

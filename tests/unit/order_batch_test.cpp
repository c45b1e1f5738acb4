// An insert batch writes one row per order id, in id order, the paid order of an id winning.
#include "orders/order_batch.hpp"

#include <gtest/gtest.h>

namespace tigerfans::orders {
namespace {

Order order(std::string id, OrderStatus status, std::string email) {
    Order result;
    result.id = std::move(id);
    result.status = status;
    result.customer_email = std::move(email);
    return result;
}

std::vector<std::string> ids_and_emails(const std::vector<Order*>& orders) {
    std::vector<std::string> result;
    for (const Order* chosen : orders) result.push_back(chosen->id + ":" + chosen->customer_email);
    return result;
}

TEST(OneOrderPerId, RowsComeInIdOrderWhateverTheArrivalOrder) {
    std::vector<Order> orders = {order("c", OrderStatus::paid, "1"),
                                 order("a", OrderStatus::paid, "2"),
                                 order("b", OrderStatus::failed, "3")};
    const std::vector<std::string> expected = {"a:2", "b:3", "c:1"};
    EXPECT_EQ(ids_and_emails(one_per_id_in_id_order(orders)), expected);
}

// Two deliveries of one session in one batch: the paid one is written, whichever came first;
// of two that cannot replace each other the first stays.
TEST(OneOrderPerId, ThePaidOrderOfAnIdWinsAndOtherwiseTheFirst) {
    std::vector<Order> orders = {order("b", OrderStatus::canceled, "first"),
                                 order("a", OrderStatus::paid, "first"),
                                 order("b", OrderStatus::paid_unfulfilled, "second"),
                                 order("a", OrderStatus::failed, "second"),
                                 order("c", OrderStatus::paid, "first"),
                                 order("c", OrderStatus::paid, "second"),
                                 order("b", OrderStatus::paid, "third")};
    const std::vector<std::string> expected = {"a:first", "b:second", "c:first"};
    EXPECT_EQ(ids_and_emails(one_per_id_in_id_order(orders)), expected);
}

TEST(OneOrderPerId, AnEmptyBatchHasNoRows) {
    std::vector<Order> orders;
    EXPECT_TRUE(one_per_id_in_id_order(orders).empty());
}

}  // namespace
}  // namespace tigerfans::orders

// A bounded first-in, first-out memory of paid orders. The index holds views of the kept
// orders' ids: a deque moves none of its elements when one is added at the back or taken from
// the front, so the views stay valid for as long as their order is kept.
#include "orders/recent_orders.hpp"

#include "tigerfans/core/assert.hpp"

namespace tigerfans::orders {

RecentOrders::RecentOrders(std::size_t capacity) : capacity_(capacity) {
    TF_ASSERT_GT(capacity_, 0u);
    by_id_.reserve(capacity_);
}

bool RecentOrders::may_keep(const Order& order) {
    return is_paid(order.status) && !order.customer_email.empty() && !order.payment_key.empty();
}

void RecentOrders::remember(Order order) {
    TF_ASSERT(may_keep(order));
    if (by_id_.contains(order.id)) return;
    if (kept_.size() == capacity_) {
        const std::size_t erased = by_id_.erase(kept_.front().id);
        TF_ASSERT_EQ(erased, 1u);
        kept_.pop_front();
    }
    kept_.push_back(std::move(order));
    by_id_.emplace(kept_.back().id, &kept_.back());
    TF_ASSERT_EQ(by_id_.size(), kept_.size());
}

const Order* RecentOrders::find(std::string_view id) const {
    const auto found = by_id_.find(id);
    return found == by_id_.end() ? nullptr : found->second;
}

}  // namespace tigerfans::orders

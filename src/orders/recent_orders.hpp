// The paid orders this process wrote last, kept in memory so that the status poll which follows
// a payment is answered without a database read. A paid row that was written with its email
// and its payment's key never changes afterwards: a paid status is never replaced, and an email
// or a key is only filled into a row that has none (the reconciler's). So a kept order is never
// stale, whichever process reads the table; it only leaves, oldest first, to make room. Loop
// thread only.
#pragma once

#include <cstddef>
#include <deque>
#include <string_view>
#include <unordered_map>

#include "tigerfans/orders/order.hpp"

namespace tigerfans::orders {

class RecentOrders {
public:
    explicit RecentOrders(std::size_t capacity);
    // The index views the kept orders' own ids: a copy's would view the original's.
    RecentOrders(const RecentOrders&) = delete;
    RecentOrders& operator=(const RecentOrders&) = delete;

    // Only a paid order with an email and a payment key: any other row may still change. An
    // id kept already stays as it was.
    static bool may_keep(const Order& order);
    void remember(Order order);

    // The kept order with this id, or null; valid until the next remember().
    const Order* find(std::string_view id) const;

    std::size_t size() const { return kept_.size(); }

private:
    std::size_t capacity_;
    std::deque<Order> kept_;                                    // Oldest first.
    std::unordered_map<std::string_view, const Order*> by_id_;  // Views of kept_'s ids.
};

}  // namespace tigerfans::orders

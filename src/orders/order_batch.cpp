// One row per id, in id order.
#include "orders/order_batch.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace tigerfans::orders {

std::vector<Order*> one_per_id_in_id_order(std::vector<Order>& orders) {
    std::unordered_map<std::string_view, Order*> chosen;
    for (Order& order : orders) {
        const auto [found, added] = chosen.try_emplace(order.id, &order);
        if (!added && may_replace(found->second->status, order.status)) found->second = &order;
    }
    std::vector<Order*> result;
    result.reserve(chosen.size());
    for (const auto& [id, order] : chosen) result.push_back(order);
    std::ranges::sort(result, {}, &Order::id);
    return result;
}

}  // namespace tigerfans::orders

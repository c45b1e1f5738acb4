// How one insert batch is written: one row per order id, in id order. Several batches may be
// in flight on several connections and carry the same ids; each transaction then meets the
// ids in the same order, so of two transactions sharing ids one may wait for the other, never
// each for the other (a deadlock, which PostgreSQL breaks by failing one of the batches).
#pragma once

#include <vector>

#include "tigerfans/orders/order.hpp"

namespace tigerfans::orders {

// One order per id, sorted by id. Two deliveries of one session may meet in a batch (one took
// over the other's lease); the paid one speaks for both, as it would in two batches (the first
// of equals when neither replaces the other).
std::vector<Order*> one_per_id_in_id_order(std::vector<Order>& orders);

}  // namespace tigerfans::orders

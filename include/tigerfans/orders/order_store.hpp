// Durable orders in PostgreSQL. Writes are group-committed: many orders, one transaction, one
// multi-row INSERT ... ON CONFLICT DO NOTHING; a write completes only after its COMMIT. Reads
// of many ids become one SELECT ... WHERE id = ANY($1). The order id is the key of every write:
// a webhook that runs again after a crash stores nothing twice and learns what is stored.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tigerfans/core/result.hpp"
#include "tigerfans/orders/order.hpp"

namespace tigerfans::orders {

namespace asio = boost::asio;

class OrderStore {
public:
    virtual ~OrderStore() = default;

    virtual asio::awaitable<Status> start() = 0;  // Creates the table if missing.

    // Completes after the transaction holding this order committed, with the status the table
    // holds for its id: this order's own, or, when the id existed already (a replay), the
    // stored row's, which is left as it is. A paid order with a payment key whose id is stored
    // paid by another key is a second payment of it: the same transaction records it among
    // the duplicate payments (once per key). A stored paid row without a key takes this one.
    virtual asio::awaitable<Result<OrderStatus>> insert(Order order) = 0;

    virtual asio::awaitable<Result<std::optional<Order>>> find(std::string_view id) = 0;

    // Newest first.
    virtual asio::awaitable<Result<std::vector<Order>>> recent(std::size_t limit) = 0;

    // The stored orders among `ids` (missing ids left out), in one read.
    virtual asio::awaitable<Result<std::vector<Order>>> find_many(std::vector<std::string> ids) = 0;

    // Orders with `status` whose id sorts after `after_id` ("" for the first page), by id: a
    // caller pages through all of them by passing the last id it got.
    virtual asio::awaitable<Result<std::vector<Order>>> with_status(OrderStatus status,
                                                                    std::string after_id,
                                                                    std::size_t limit) = 0;

    // Duplicate payments, the newest first: each is owed back to its customer.
    virtual asio::awaitable<Result<std::vector<DuplicatePayment>>> duplicate_payments(
        std::size_t limit) = 0;

    virtual asio::awaitable<bool> healthy() = 0;
    virtual asio::awaitable<void> stop() = 0;
};

}  // namespace tigerfans::orders

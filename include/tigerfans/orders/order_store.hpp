// Durable orders in PostgreSQL. Writes are group-committed: many orders, one transaction, one
// multi-row INSERT ... ON CONFLICT DO NOTHING; a write completes only after its COMMIT. Reads
// of many ids become one SELECT ... WHERE id = ANY($1).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
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

    // Completes after the transaction holding this order committed. An order whose id exists
    // already is left as it is (a replay), and that counts as success.
    virtual asio::awaitable<Status> insert(Order order) = 0;

    virtual asio::awaitable<Result<std::optional<Order>>> find(std::string_view id) = 0;

    // Newest first.
    virtual asio::awaitable<Result<std::vector<Order>>> recent(std::size_t limit) = 0;

    virtual asio::awaitable<bool> healthy() = 0;
    virtual asio::awaitable<void> stop() = 0;
};

}  // namespace tigerfans::orders

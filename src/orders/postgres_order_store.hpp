// The PostgreSQL order store: group commit for writes, batched reads.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <memory>
#include <string>

#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/orders/order_store.hpp"

namespace tigerfans::orders {

// Inserts run on `insert_connections` connections (1 to limits::pg_order_connections_max), one
// batch in flight on each; reads on one more.
std::unique_ptr<OrderStore> make_postgres_order_store(boost::asio::any_io_executor loop,
                                                      std::string database_url,
                                                      std::size_t insert_connections,
                                                      metrics::Registry& registry);

}  // namespace tigerfans::orders

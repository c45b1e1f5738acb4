// The PostgreSQL order store: group commit for writes, batched reads.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/orders/order_store.hpp"

namespace tigerfans::orders {

std::unique_ptr<OrderStore> make_postgres_order_store(boost::asio::any_io_executor loop,
                                                      std::string database_url,
                                                      metrics::Registry& registry);

}  // namespace tigerfans::orders

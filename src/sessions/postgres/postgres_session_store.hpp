// Payment sessions in PostgreSQL (level 1), batched on a database thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::sessions {

std::unique_ptr<SessionStore> make_postgres_store(boost::asio::any_io_executor loop,
                                                  std::string database_url,
                                                  metrics::Registry& registry);

}  // namespace tigerfans::sessions

// Payment sessions in Redis through hiredis' async API, driven by the loop itself: one
// connection, commands pipelined, multi-step operations in one round trip.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::sessions {

std::unique_ptr<SessionStore> make_redis_store(boost::asio::any_io_executor loop,
                                               std::string redis_url, metrics::Registry& registry);

}  // namespace tigerfans::sessions

// The Redis session store's private entry points: the factory with explicit client options
// (tests shorten the timeouts to exercise the fault paths quickly) and the webhook gate's Lua
// script, whose SHA-1 the store computes itself so EVALSHA works even if start() never reached
// Redis.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "sessions/redis/client.hpp"
#include "sessions/redis/url.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::sessions::redis {

std::unique_ptr<SessionStore> make_store(asio::any_io_executor loop, Endpoint endpoint,
                                         ClientOptions options, metrics::Registry& registry);

// KEYS: the session's fulfilled flag, the event's key. ARGV: their TTLs in seconds.
// Answers 1 when neither existed (both are then set), else 0 and changes nothing.
inline constexpr std::string_view gate_script =
    "if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end\n"
    "redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])\n"
    "redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])\n"
    "return 1\n";

// Lower-case hex SHA-1, as SCRIPT LOAD answers and EVALSHA expects.
std::string script_sha1(std::string_view script);

}  // namespace tigerfans::sessions::redis

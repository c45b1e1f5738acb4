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

// The webhook gate of one session. KEYS[1]: its gate key. ARGV: "take" or "release", the
// delivery's lease token, the lease in milliseconds. The key holds "lease:<token>" (expiring by
// itself) or "done:<order status>" (set by finish_gate).
// take: {0, ""} when the lease was free and is now this token's; {1, ""} while another lease
// is live; {2, status} when the gate is done. Nothing changes unless the lease was free.
// release: deletes the key only while it still holds this token's lease; answers 1 or 0.
inline constexpr std::string_view gate_script =
    "local held = redis.call('GET', KEYS[1])\n"
    "if ARGV[1] == 'release' then\n"
    "  if held == 'lease:' .. ARGV[2] then return redis.call('DEL', KEYS[1]) end\n"
    "  return 0\n"
    "end\n"
    "if held then\n"
    "  if string.sub(held, 1, 5) == 'done:' then return {2, string.sub(held, 6)} end\n"
    "  return {1, ''}\n"
    "end\n"
    "redis.call('SET', KEYS[1], 'lease:' .. ARGV[2], 'PX', ARGV[3])\n"
    "return {0, ''}\n";

// Lower-case hex SHA-1, as SCRIPT LOAD answers and EVALSHA expects.
std::string script_sha1(std::string_view script);

}  // namespace tigerfans::sessions::redis

// Payment sessions in Redis through hiredis' async API, driven by the loop itself: one
// connection, commands pipelined, multi-step operations in one round trip. The factories (from a
// URL, as the wiring calls it, or with explicit client options: tests shorten the timeouts to
// exercise the fault paths quickly) and the webhook gate's Lua script, whose SHA-1 the store
// computes itself so EVALSHA works even if start() never reached Redis, and the scripts of
// checkout's idempotency keys, of the email slots and of a session's goodie, called the same way.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "sessions/redis/client.hpp"
#include "sessions/redis/scripts.hpp"
#include "sessions/redis/url.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::sessions {

std::unique_ptr<SessionStore> make_redis_store(boost::asio::any_io_executor loop,
                                               std::string redis_url, metrics::Registry& registry);

}  // namespace tigerfans::sessions

namespace tigerfans::sessions::redis {

std::unique_ptr<SessionStore> make_store(asio::any_io_executor loop, Endpoint endpoint,
                                         ClientOptions options, metrics::Registry& registry);

// The webhook gate of one session. KEYS: its gate key, its session key. ARGV: "take",
// "release" or "finish"; the delivery's lease token (the order status for finish); the lease
// in milliseconds (the done mark's lifetime in seconds for finish); "1" when the event is a
// payment; how long, in milliseconds, a session whose lease is taken is kept at least. The gate
// key holds "lease:<token>" (expiring by itself) or "done:<order status>".
// take: {0, ""} when the lease was free (or the mark unpaid and this a payment) and is now this
// token's, the session kept; {1, ""} while another lease lives; {2, status} when done.
// release: deletes the key only while it still holds this token's lease; answers 1 or 0.
// finish: writes the done mark unless a paid mark would become unpaid; answers 1 or 0. The
// store calls finish for unpaid statuses only (a paid mark it writes with a plain SET), and
// take only for a gate its plain commands found held (for every gate on a Redis before 7.0).
inline constexpr std::string_view gate_script =
    "local held = redis.call('GET', KEYS[1])\n"
    "if ARGV[1] == 'release' then\n"
    "  if held == 'lease:' .. ARGV[2] then return redis.call('DEL', KEYS[1]) end\n"
    "  return 0\n"
    "end\n"
    "local done = held and string.sub(held, 1, 5) == 'done:'\n"
    "local unpaid = done and (held == 'done:FAILED' or held == 'done:CANCELED')\n"
    "if ARGV[1] == 'finish' then\n"
    "  local paid_to_unpaid = done and not unpaid and\n"
    "    (ARGV[2] == 'FAILED' or ARGV[2] == 'CANCELED')\n"
    "  if paid_to_unpaid then return 0 end\n"
    "  redis.call('SET', KEYS[1], 'done:' .. ARGV[2], 'EX', ARGV[3])\n"
    "  return 1\n"
    "end\n"
    "if done and not (unpaid and ARGV[4] == '1') then return {2, string.sub(held, 6)} end\n"
    "if held and not done then return {1, ''} end\n"
    "redis.call('SET', KEYS[1], 'lease:' .. ARGV[2], 'PX', ARGV[3])\n"
    "local left_ms = redis.call('PTTL', KEYS[2])\n"
    "if left_ms >= 0 and left_ms < tonumber(ARGV[5]) then\n"
    "  redis.call('PEXPIRE', KEYS[2], ARGV[5])\n"
    "end\n"
    "return {0, ''}\n";

// One field of a session hash, set only while the session exists (HSET alone would create a
// hash that a payment dropped meanwhile). KEYS: the session key. ARGV: the field and its value.
// Answers 1 when set, 0 when the session is gone. Checkout corrects the goodie with it.
inline constexpr std::string_view session_field_script =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "return 1\n";

// Checkout's idempotency keys. KEYS: the key's record. ARGV: "claim", "finish" or "release";
// the claim's lease record (codec.hpp); for claim the lease in milliseconds, for finish the
// done record and its lifetime in seconds.
// claim: SET NX with the lease as its expiry; answers "" when claimed, else the live record.
// finish: replaces the record with the done record while it still is this claim's lease;
// release: deletes it while it still is this claim's lease; both answer 1 or 0.
inline constexpr std::string_view checkout_key_script =
    "if ARGV[1] == 'claim' then\n"
    "  if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then return '' end\n"
    "  return redis.call('GET', KEYS[1])\n"
    "end\n"
    "if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end\n"
    "if ARGV[1] == 'release' then return redis.call('DEL', KEYS[1]) end\n"
    "redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])\n"
    "return 1\n";

// The ticket slots of one email. KEYS: its slot set (email_slots_key). ARGV: "claim", "paid" or
// "free"; the order id; for claim, how long the slot counts in milliseconds and the limit.
// Every call first drops the slots whose time is up (by Redis' own clock, so every server
// process agrees), then: claim adds the order's slot only while fewer than the limit are left
// and answers 1 when the slot is the order's, else 0; paid scores the slot inf (counts for
// good); free removes it unless it is paid. The set expires with its last slot, or never while it
// holds a paid one. A process that dies between a claim and its hold leaves a slot that ends by its
// score.
inline constexpr std::string_view email_slots_script =
    "local clock = redis.call('TIME')\n"
    "local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now_ms))\n"
    "if ARGV[1] == 'claim' then\n"
    "  if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then\n"
    "    if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end\n"
    "    local until_ms = string.format('%.0f', now_ms + tonumber(ARGV[3]))\n"
    "    redis.call('ZADD', KEYS[1], until_ms, ARGV[2])\n"
    "  end\n"
    "elseif ARGV[1] == 'paid' then\n"
    "  redis.call('ZADD', KEYS[1], 'inf', ARGV[2])\n"
    "elseif redis.call('ZSCORE', KEYS[1], ARGV[2]) ~= 'inf' then\n"
    "  redis.call('ZREM', KEYS[1], ARGV[2])\n"
    "end\n"
    "local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')\n"
    "if #last == 0 then return 1 end\n"
    "if last[2] == 'inf' then\n"
    "  redis.call('PERSIST', KEYS[1])\n"
    "else\n"
    "  redis.call('PEXPIREAT', KEYS[1], last[2])\n"
    "end\n"
    "return 1\n";

}  // namespace tigerfans::sessions::redis

// The waiting room's queue in Redis (levels 2 and 3), on a connection of its own (its metric
// series are labelled connection="queue"). Every step is one call of queue_script, so each is
// atomic however many server processes share the Redis:
//
//   q:waiting      sorted set: the waiting entries, score = the entry's key (exact: keys are
//                  below 2^53), member = its id; equal scores fall back to the id as bytes, the
//                  queue's order (queue/entry.hpp)
//   q:e:<id>       hash per entry: key, joined_us, state (waiting or admitted), and once
//                  admitted seq, at_us and used (tickets counted); an admitted entry's hash
//                  expires keep_s after its admission, a waiting one's never
//   q:joined       joins so far
//   q:seq          the sale's join sequence (INCR), the value of a sale join's key
//   q:admitted     admissions so far, the last admission's number
//   q:lease        hash: owner and until_us of the admission lease (lead)
//   q:settings     hash: paused (0 or 1) and per_second, the operator's, once set
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "sessions/redis/client.hpp"
#include "sessions/redis/url.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/queue/queue_store.hpp"

namespace tigerfans::sessions {

std::unique_ptr<queue::QueueStore> make_redis_queue_store(boost::asio::any_io_executor loop,
                                                          std::string redis_url,
                                                          metrics::Registry& registry);

}  // namespace tigerfans::sessions

namespace tigerfans::sessions::redis {

std::unique_ptr<queue::QueueStore> make_queue_store(asio::any_io_executor loop, Endpoint endpoint,
                                                    ClientOptions options,
                                                    metrics::Registry& registry);

inline constexpr std::string_view queue_waiting_key = "q:waiting";
inline constexpr std::string_view queue_joined_key = "q:joined";
inline constexpr std::string_view queue_sequence_key = "q:seq";
inline constexpr std::string_view queue_admitted_key = "q:admitted";
inline constexpr std::string_view queue_entry_prefix = "q:e:";

// The queue's steps. KEYS: q:waiting, q:joined, q:seq, q:admitted. ARGV[1]: the step; entry
// hashes are named by the script itself (q:e:<id>), so the script suits one Redis, not a
// cluster. Numbers go into Redis as decimal text written by string.format('%.0f'), exact below
// 2^53, never by Lua's own number-to-text conversion, which keeps 14 digits.
// join, id, phase (prequeue or sale), the draw key (prequeue) or the sale band's bit (sale),
//   now: answers the entry's key as decimal text, the stored one for a known id.
// admit, the last rank taken (count - 1), now, keep_s: answers {id, seq, id, seq, ...} in queue
//   order.
// use, id, tickets_max: 1 when one more ticket was counted, else 0.
// return, id: 1 when a counted ticket was given back, else 0.
// status, id: {} for an unknown id, else {key, joined_us, state, seq, at_us, used, rank}, the
//   fields an entry lacks (and the rank of an admitted one) nil.
// counts: {waiting, admitted, joined}.
// lead, owner, now, until: takes or renews the lease as QueueStore::lead says; answers
//   {1 or 0, paused or '', per_second or ''}.
// settings, paused (0, 1 or '' to keep it), per_second ('' to keep it): stores those given;
//   answers 1.
inline constexpr std::string_view queue_script =
    "local step = ARGV[1]\n"
    "if step == 'lead' then\n"
    "  local lease = redis.call('HMGET', 'q:lease', 'owner', 'until_us')\n"
    "  local leading = 0\n"
    "  if not lease[1] or lease[1] == ARGV[2] or tonumber(lease[2]) <= tonumber(ARGV[3]) then\n"
    "    redis.call('HSET', 'q:lease', 'owner', ARGV[2], 'until_us', ARGV[4])\n"
    "    leading = 1\n"
    "  end\n"
    "  local settings = redis.call('HMGET', 'q:settings', 'paused', 'per_second')\n"
    "  return {leading, settings[1] or '', settings[2] or ''}\n"
    "end\n"
    "if step == 'settings' then\n"
    "  if ARGV[2] ~= '' then redis.call('HSET', 'q:settings', 'paused', ARGV[2]) end\n"
    "  if ARGV[3] ~= '' then redis.call('HSET', 'q:settings', 'per_second', ARGV[3]) end\n"
    "  return 1\n"
    "end\n"
    "if step == 'counts' then\n"
    "  return {redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[4]) or '0'),\n"
    "          tonumber(redis.call('GET', KEYS[2]) or '0')}\n"
    "end\n"
    "if step == 'admit' then\n"
    "  local ids = redis.call('ZRANGE', KEYS[1], 0, ARGV[2])\n"
    "  if #ids == 0 then return {} end\n"
    "  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #ids - 1)\n"
    "  local admitted = {}\n"
    "  for _, id in ipairs(ids) do\n"
    "    local seq = redis.call('INCR', KEYS[4])\n"
    "    local entry = 'q:e:' .. id\n"
    "    redis.call('HSET', entry, 'state', 'admitted', 'seq', string.format('%.0f', seq),\n"
    "               'at_us', ARGV[3], 'used', '0')\n"
    "    redis.call('EXPIRE', entry, ARGV[4])\n"
    "    admitted[#admitted + 1] = id\n"
    "    admitted[#admitted + 1] = seq\n"
    "  end\n"
    "  return admitted\n"
    "end\n"
    "local entry = 'q:e:' .. ARGV[2]\n"
    "if step == 'join' then\n"
    "  local known = redis.call('HGET', entry, 'key')\n"
    "  if known then return known end\n"
    "  local key = ARGV[4]\n"
    "  if ARGV[3] == 'sale' then\n"
    "    key = string.format('%.0f', tonumber(ARGV[4]) + redis.call('INCR', KEYS[3]))\n"
    "  end\n"
    "  redis.call('ZADD', KEYS[1], key, ARGV[2])\n"
    "  redis.call('HSET', entry, 'key', key, 'joined_us', ARGV[5], 'state', 'waiting')\n"
    "  redis.call('INCR', KEYS[2])\n"
    "  return key\n"
    "end\n"
    "if step == 'status' then\n"
    "  local fields = redis.call('HMGET', entry, 'key', 'joined_us', 'state', 'seq', 'at_us',\n"
    "                            'used')\n"
    "  if not fields[1] then return {} end\n"
    "  fields[7] = redis.call('ZRANK', KEYS[1], ARGV[2])\n"
    "  return fields\n"
    "end\n"
    "if redis.call('HGET', entry, 'state') ~= 'admitted' then return 0 end\n"
    "local used = tonumber(redis.call('HGET', entry, 'used'))\n"
    "if step == 'use' then\n"
    "  if used >= tonumber(ARGV[3]) then return 0 end\n"
    "  redis.call('HINCRBY', entry, 'used', 1)\n"
    "  return 1\n"
    "end\n"
    "if used < 1 then return 0 end\n"
    "redis.call('HINCRBY', entry, 'used', -1)\n"
    "return 1\n";

}  // namespace tigerfans::sessions::redis

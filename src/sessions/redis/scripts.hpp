// What the Redis stores share to call their Lua scripts and to judge Redis' replies: a script's
// SHA-1, computed here so that EVALSHA works even if start() never reached Redis; loading a
// script at start-up; calling it by EVALSHA, and as EVAL when Redis has forgotten it; and the
// count and rate-limited log of replies a store cannot use.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "sessions/redis/client.hpp"
#include "sessions/redis/log_limiter.hpp"
#include "sessions/redis/reply.hpp"
#include "tigerfans/core/result.hpp"
#include "tigerfans/metrics/metrics.hpp"

namespace tigerfans::sessions::redis {

// Lower-case hex SHA-1, as SCRIPT LOAD answers and EVALSHA expects.
std::string script_sha1(std::string_view script);

// Replies a store cannot use: Redis refusing for now (see fault_of), a bug, or a foreign writer.
// Each is counted in tigerfans_redis_errors_total{kind="reply"} (plus the client's labels,
// ClientOptions::metric_labels) and logged, at most one line per interval.
class ReplyFaults {
public:
    ReplyFaults(metrics::Registry& registry, std::string_view client_labels);

    Fault unexpected(std::string_view operation, const Reply& reply);
    Fault unexpected(std::string_view operation, std::string_view detail,
                     Fault fault = Fault::internal);

private:
    static constexpr std::chrono::milliseconds log_interval_ms{10'000};

    metrics::Counter& count_;
    LogLimiter log_{log_interval_ms};
};

// SCRIPT LOAD, checking that Redis names the script as script_sha1 does.
asio::awaitable<Status> load_script(Client& client, ReplyFaults& faults, std::string_view script,
                                    const std::string& sha);

// `call` is an EVALSHA command (its second argument the SHA-1 of `script`). On NOSCRIPT (Redis
// restarted, or start() never reached it) the same call goes again as EVAL, which also puts the
// script back into Redis' cache for the next EVALSHA.
asio::awaitable<Result<Reply>> run_script(Client& client, Command call, std::string_view script);

}  // namespace tigerfans::sessions::redis

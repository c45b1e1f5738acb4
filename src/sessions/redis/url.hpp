// REDIS_URL parsing: where the session store connects. Two forms, as in the demo's settings:
// `redis://host[:port][/db]` over TCP and `unix:///path/to/redis.sock[?db=N]` over a unix
// socket. Anything else is refused at start-up with a sentence saying what is wrong, so a typo
// in the environment never turns into a silent connection to the wrong place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tigerfans::sessions::redis {

inline constexpr std::uint16_t default_tcp_port = 6379;
inline constexpr int database_index_max = 65'535;  // Redis' own default is 16 databases.

struct Endpoint {
    enum class Transport : std::uint8_t { tcp, unix_socket };
    Transport transport = Transport::tcp;
    std::string host;         // tcp only
    std::uint16_t port = 0;   // tcp only
    std::string socket_path;  // unix_socket only
    int database = 0;

    bool operator==(const Endpoint&) const = default;
};

struct ParsedUrl {
    std::optional<Endpoint> endpoint;  // Set on success.
    std::string error;                 // Set on failure: what is wrong, for the operator.
};

ParsedUrl parse_url(std::string_view url);

// For logs: `tcp 127.0.0.1:6379 db 0` or `unix /run/redis.sock db 0`.
std::string describe(const Endpoint& endpoint);

}  // namespace tigerfans::sessions::redis

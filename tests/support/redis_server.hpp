// A real redis-server for the integration tests, on a private unix socket (and optionally a
// loopback TCP port), with persistence off. It can be stopped and started again in the middle
// of a test to exercise the fault paths.
#pragma once

#include <cstdint>
#include <string>

#include "support/process.hpp"

namespace tigerfans::testing {

class RedisServer {
public:
    // tcp_port 0: unix socket only. Throws when redis-server cannot be started.
    explicit RedisServer(std::uint16_t tcp_port = 0);
    ~RedisServer();

    void start();
    void stop();
    bool running() { return process_.running(); }

    std::string unix_url(int db = 0) const;  // unix:///.../redis.sock?db=N
    std::string tcp_url(int db = 0) const;   // redis://127.0.0.1:PORT/N
    const std::string& socket_path() const { return socket_path_; }

    // Sends one inline command over the unix socket and returns the raw reply ("" on error).
    std::string command(const std::string& inline_command) const;

private:
    std::string dir_;
    std::string socket_path_;
    std::string log_path_;
    std::uint16_t tcp_port_;
    ChildProcess process_;
};

// A loopback TCP port that was free a moment ago.
std::uint16_t free_tcp_port();

}  // namespace tigerfans::testing

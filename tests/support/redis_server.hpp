// A real redis-server for the integration tests, on a private unix socket (and optionally a
// loopback TCP port), with an append-only file as the project's scripts run it. It can be
// stopped (or killed) and started again in the middle of a test to exercise the fault paths;
// what it had acknowledged comes back from its data folder.
#pragma once

#include <sys/types.h>

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
    void kill();  // kill -9: no shutdown, no final write.
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

// Freezes a RedisServer's process (SIGSTOP: it keeps its sockets but answers nothing) until
// thawed or destroyed.
class FrozenRedis {
public:
    explicit FrozenRedis(const RedisServer& server);
    ~FrozenRedis() { thaw(); }
    FrozenRedis(const FrozenRedis&) = delete;
    FrozenRedis& operator=(const FrozenRedis&) = delete;

    bool frozen() const { return pid_ > 0; }
    void thaw();

private:
    pid_t pid_ = -1;
};

// A loopback TCP port that was free a moment ago.
std::uint16_t free_tcp_port();

}  // namespace tigerfans::testing

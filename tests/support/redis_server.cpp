// The integration tests' Redis server.
#include "support/redis_server.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <regex>
#include <stdexcept>

namespace tigerfans::testing {

RedisServer::RedisServer(std::uint16_t tcp_port) : tcp_port_(tcp_port) {
    dir_ = make_temp_dir("tigerfans-redis");
    socket_path_ = dir_ + "/redis.sock";
    log_path_ = dir_ + "/redis.log";
    start();
}

RedisServer::~RedisServer() {
    stop();
    remove_tree(dir_);
}

void RedisServer::start() {
    const std::string program = find_program("redis-server", {"/usr/bin/redis-server"});
    if (program.empty()) throw std::runtime_error("redis-server not found: run `make setup`");
    process_ = ChildProcess(
        {program, "--port", std::to_string(tcp_port_), "--bind", "127.0.0.1", "--unixsocket",
         socket_path_, "--unixsocketperm", "700", "--save", "", "--appendonly", "yes",
         "--appendfsync", "everysec", "--dir", dir_, "--daemonize", "no"},
        log_path_);
    const bool ready = wait_until([this] { return command("PING").starts_with("+PONG"); },
                                  std::chrono::seconds(10));
    if (!ready) throw std::runtime_error("redis-server did not start; see " + log_path_);
}

void RedisServer::stop() {
    process_.terminate();
    unlink(socket_path_.c_str());
}

void RedisServer::kill() {
    process_.kill();
    unlink(socket_path_.c_str());
}

std::string RedisServer::unix_url(int db) const {
    return "unix://" + socket_path_ + "?db=" + std::to_string(db);
}

std::string RedisServer::tcp_url(int db) const {
    return "redis://127.0.0.1:" + std::to_string(tcp_port_) + "/" + std::to_string(db);
}

std::string RedisServer::command(const std::string& inline_command) const {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return {};
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path_.c_str(), sizeof(address.sun_path) - 1);
    std::string reply;
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
        const std::string line = inline_command + "\r\n";
        if (write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
            char buffer[4096];
            const ssize_t got = read(fd, buffer, sizeof(buffer));
            if (got > 0) reply.assign(buffer, static_cast<std::size_t>(got));
        }
    }
    close(fd);
    return reply;
}

std::uint16_t free_tcp_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("free_tcp_port: no socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                       getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    close(fd);
    if (!bound) throw std::runtime_error("free_tcp_port: cannot bind to 127.0.0.1");
    return ntohs(address.sin_port);
}

// The pid is the one the server reports of itself (INFO server).
FrozenRedis::FrozenRedis(const RedisServer& server) {
    std::smatch match;
    const std::string info = server.command("INFO server");
    if (std::regex_search(info, match, std::regex("process_id:(\\d+)"))) {
        pid_ = static_cast<pid_t>(std::stol(match[1]));
    }
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void FrozenRedis::thaw() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
    pid_ = -1;
}

}  // namespace tigerfans::testing

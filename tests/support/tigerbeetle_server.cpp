// The integration tests' TigerBeetle replica (spawned with pipes on stdin and stdout) and the
// library path.
#include "support/tigerbeetle_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "support/process.hpp"

extern char** environ;

namespace tigerfans::testing {

namespace {

constexpr int replica_start_timeout_ms = 60'000;
constexpr std::chrono::milliseconds replica_exit_grace{5'000};

void close_fd(int& fd) {
    if (fd >= 0) close(fd);
    fd = -1;
}

// Spawns argv with stdin and stdout on new pipes and stderr appended to log_path. Our pipe
// ends are close-on-exec, so no other child inherits the replica's stdin.
pid_t spawn_piped(const std::vector<std::string>& argv, const std::string& log_path,
                  int& stdin_write, int& stdout_read) {
    int in[2];
    int out[2];
    if (pipe2(in, O_CLOEXEC) != 0) return -1;
    if (pipe2(out, O_CLOEXEC) != 0) return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int error = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    stdin_write = in[1];
    stdout_read = out[0];
    return error == 0 ? pid : -1;
}

}  // namespace

std::string tb_client_library_path() {
    const char* configured = std::getenv("TB_CLIENT_LIB");
    if (configured != nullptr && *configured != '\0') return configured;
    return TIGERFANS_SOURCE_DIR "/tigerbeetle/lib/libtb_client.so";
}

namespace {

int skipped_without_tigerbeetle = 0;

class SkipSummary : public ::testing::Environment {
public:
    void TearDown() override {
        if (skipped_without_tigerbeetle == 0) return;
        std::printf(
            "level 3: %d tests skipped: no TigerBeetle server binary; run them with "
            "TIGERBEETLE_BIN=/path/to/tigerbeetle make test\n",
            skipped_without_tigerbeetle);
    }
};

[[maybe_unused]] const ::testing::Environment* const skip_summary =
    ::testing::AddGlobalTestEnvironment(new SkipSummary);

}  // namespace

void note_skipped_without_tigerbeetle() { ++skipped_without_tigerbeetle; }

std::string tigerbeetle_binary() {
    const char* configured = std::getenv("TIGERBEETLE_BIN");
    if (configured == nullptr || access(configured, X_OK) != 0) return {};
    return configured;
}

TigerBeetleServer::TigerBeetleServer(const std::string& binary,
                                     std::vector<std::string> extra_flags) {
    dir_ = make_temp_dir("tigerfans-tigerbeetle");
    data_file_ = dir_ + "/0_0.tigerbeetle";
    log_path_ = dir_ + "/tigerbeetle.log";
    const int formatted = run_command({binary, "format", "--cluster=0", "--replica=0",
                                       "--replica-count=1", "--development", data_file_},
                                      log_path_);
    if (formatted != 0) {
        remove_tree(dir_);
        throw std::runtime_error("tigerbeetle format failed (exit " + std::to_string(formatted) +
                                 ")");
    }
    start(binary, std::move(extra_flags));
}

TigerBeetleServer::~TigerBeetleServer() {
    stop();
    remove_tree(dir_);
}

void TigerBeetleServer::start(const std::string& binary, std::vector<std::string> extra_flags) {
    std::vector<std::string> argv = {binary, "start", "--development", "--experimental",
                                     "--addresses=0"};
    // 1 MiB requests unless the test asks for another limit.
    const bool own_limit =
        std::any_of(extra_flags.begin(), extra_flags.end(),
                    [](const auto& flag) { return flag.rfind("--limit-request=", 0) == 0; });
    if (!own_limit) argv.push_back("--limit-request=1MiB");
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    argv.push_back(data_file_);
    pid_ = spawn_piped(argv, log_path_, stdin_fd_, stdout_fd_);
    if (pid_ < 0) throw std::runtime_error("cannot start " + binary);
    port_ = read_port();
    close_fd(stdout_fd_);
    if (port_ == 0) {
        stop();
        throw std::runtime_error("tigerbeetle did not start; see " + log_path_);
    }
}

// The replica prints its port (and only that) once it listens; 0 when it never does.
std::uint16_t TigerBeetleServer::read_port() {
    std::string line;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(replica_start_timeout_ms);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        pollfd ready{stdout_fd_, POLLIN, 0};
        if (poll(&ready, 1, 100) <= 0) continue;
        char buffer[64];
        const ssize_t got = read(stdout_fd_, buffer, sizeof(buffer));
        if (got <= 0) break;  // Exited before printing.
        line.append(buffer, static_cast<std::size_t>(got));
    }
    const unsigned long port = std::strtoul(line.c_str(), nullptr, 10);
    return port > 0 && port <= 65535 ? static_cast<std::uint16_t>(port) : 0;
}

void TigerBeetleServer::stop() {
    close_fd(stdin_fd_);
    close_fd(stdout_fd_);
    if (pid_ < 0) return;
    const bool exited =
        wait_until([this] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, replica_exit_grace);
    if (!exited) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
}

std::string TigerBeetleServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

}  // namespace tigerfans::testing

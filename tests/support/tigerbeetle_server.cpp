// The integration tests' TigerBeetle replica and library path.
#include "support/tigerbeetle_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "support/redis_server.hpp"  // free_tcp_port

namespace tigerfans::testing {

namespace {

constexpr std::chrono::seconds replica_start_timeout{60};

bool port_accepts(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    const bool connected =
        connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    close(fd);
    return connected;
}

}  // namespace

std::string tb_client_library_path() {
    const char* configured = std::getenv("TB_CLIENT_LIB");
    if (configured != nullptr && *configured != '\0') return configured;
    return TIGERFANS_SOURCE_DIR "/tigerbeetle/lib/libtb_client.so";
}

std::string tigerbeetle_binary() {
    const char* configured = std::getenv("TIGERBEETLE_BIN");
    if (configured == nullptr || access(configured, X_OK) != 0) return {};
    return configured;
}

TigerBeetleServer::TigerBeetleServer(std::string binary)
    : binary_(std::move(binary)), port_(free_tcp_port()) {
    dir_ = make_temp_dir("tigerfans-tigerbeetle");
    data_file_ = dir_ + "/0_0.tigerbeetle";
    log_path_ = dir_ + "/tigerbeetle.log";
    const int formatted = run_command({binary_, "format", "--cluster=0", "--replica=0",
                                       "--replica-count=1", "--development", data_file_},
                                      log_path_);
    if (formatted != 0) {
        throw std::runtime_error("tigerbeetle format failed; see " + log_path_);
    }
    start();
}

TigerBeetleServer::~TigerBeetleServer() {
    stop();
    remove_tree(dir_);
}

void TigerBeetleServer::start() {
    process_ = ChildProcess({binary_, "start", "--development", "--experimental",
                             "--limit-request=1MiB", "--addresses=" + address(), data_file_},
                            log_path_);
    const bool ready = wait_until([this] { return !process_.running() || port_accepts(port_); },
                                  replica_start_timeout);
    if (!ready || !process_.running()) {
        throw std::runtime_error("tigerbeetle did not start; see " + log_path_);
    }
}

void TigerBeetleServer::stop() { process_.terminate(); }

std::string TigerBeetleServer::address() const {
    return "127.0.0.1:" + std::to_string(port_);
}

}  // namespace tigerfans::testing

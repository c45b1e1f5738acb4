// A real TigerBeetle replica for the integration tests: a throwaway one-replica data file in a
// temp dir (cluster 0, --development) and `tigerbeetle start` on a free loopback port with a
// request limit that allows full 8189-event batches. The binary comes from TIGERBEETLE_BIN;
// without it the server tests skip and say so. Also where the tests find libtb_client.so.
#pragma once

#include <cstdint>
#include <string>

#include "support/process.hpp"

namespace tigerfans::testing {

// $TB_CLIENT_LIB when set, else <source>/tigerbeetle/lib/libtb_client.so (may not exist).
std::string tb_client_library_path();

// $TIGERBEETLE_BIN when it names an executable, else "".
std::string tigerbeetle_binary();

class TigerBeetleServer {
public:
    // Formats and starts; throws with the log's path when the replica does not come up.
    explicit TigerBeetleServer(std::string binary);
    ~TigerBeetleServer();
    TigerBeetleServer(const TigerBeetleServer&) = delete;
    TigerBeetleServer& operator=(const TigerBeetleServer&) = delete;

    // Stops the replica (SIGTERM is safe: TigerBeetle has no graceful shutdown) and starts it
    // again on the same data file and port.
    void stop();
    void start();

    std::string address() const;  // "127.0.0.1:PORT", as TB_ADDRESS takes it.
    const std::string& log_path() const { return log_path_; }

private:
    std::string binary_;
    std::string dir_;
    std::string data_file_;
    std::string log_path_;
    std::uint16_t port_;
    ChildProcess process_;
};

}  // namespace tigerfans::testing

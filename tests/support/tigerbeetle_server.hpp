// A real TigerBeetle replica for the integration tests: a throwaway one-replica data file in a
// temp dir (cluster 0, --development) and `tigerbeetle start` with a request limit that allows
// full 8189-event batches. It runs with --addresses=0: the replica picks a free loopback port,
// prints it once it is ready, and exits when its stdin closes, so a test process that crashes
// or is killed never leaves a replica behind. The binary comes from TIGERBEETLE_BIN; without it
// the server tests skip and say so. Also where the tests find libtb_client.so.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tigerfans::testing {

// $TB_CLIENT_LIB when set, else <source>/tigerbeetle/lib/libtb_client.so (may not exist).
std::string tb_client_library_path();

// $TIGERBEETLE_BIN when it names an executable, else "".
std::string tigerbeetle_binary();

// Counts a test skipped for want of a server binary; after the last test one line says how
// many were skipped and how to run them.
void note_skipped_without_tigerbeetle();

class TigerBeetleServer {
public:
    // Formats and starts; throws with the log's path when the replica does not come up.
    // `extra_flags` go to `tigerbeetle start` (experimental limits, for instance).
    explicit TigerBeetleServer(const std::string& binary,
                               std::vector<std::string> extra_flags = {});
    ~TigerBeetleServer();
    TigerBeetleServer(const TigerBeetleServer&) = delete;
    TigerBeetleServer& operator=(const TigerBeetleServer&) = delete;

    // Ends the replica (closing its stdin; TigerBeetle has no graceful shutdown) and waits.
    void stop();

    std::string address() const;  // "127.0.0.1:PORT", as TB_ADDRESS takes it.
    const std::string& log_path() const { return log_path_; }

private:
    void start(const std::string& binary, std::vector<std::string> extra_flags);
    std::uint16_t read_port();

    std::string dir_;
    std::string data_file_;
    std::string log_path_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    int stdin_fd_ = -1;   // Our end of the replica's stdin: closing it ends the replica.
    int stdout_fd_ = -1;  // Where the replica prints its port.
};

}  // namespace tigerfans::testing

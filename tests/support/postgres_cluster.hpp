// A throwaway PostgreSQL cluster for the integration tests: initdb'd into a temp dir on first
// use (as the postgres user when the tests run as root, since initdb refuses root), reachable
// only through a private unix socket, stopped when the test binary exits. Each test takes a
// fresh database of its own.
#pragma once

#include <string>

namespace tigerfans::testing {

class PostgresCluster {
public:
    // Starts the cluster on first call. Throws with the reason (and the server log's path)
    // when PostgreSQL cannot be started: it is a required part of the test environment.
    static PostgresCluster& shared();

    // Creates an empty database and returns its DATABASE_URL.
    std::string create_database();

    const std::string& socket_dir() const { return socket_dir_; }
    std::string url_for(const std::string& database) const;

    ~PostgresCluster();

private:
    PostgresCluster();
    void start();
    void stop();

    std::string bin_dir_;
    std::string root_dir_;
    std::string data_dir_;
    std::string socket_dir_;
    std::string log_path_;
    int next_database_ = 0;
    bool started_ = false;
};

}  // namespace tigerfans::testing

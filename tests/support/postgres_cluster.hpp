// The integration tests' PostgreSQL cluster, reachable only through a private unix socket in its
// directory (initdb'd and run as the postgres user when the tests run as root, since initdb
// refuses root). Each test takes a fresh database of its own.
//
// Under ctest one cluster serves every test process: the fixture test postgres_start runs
// `tigerfans_test_postgres start FILE`, which starts a cluster and writes its directory to FILE;
// the tests find FILE through TIGERFANS_TEST_POSTGRES; postgres_stop stops the cluster. A test
// binary run without that variable starts a cluster of its own on first use and stops it at
// exit.
#pragma once

#include <string>

namespace tigerfans::testing {

class PostgresCluster {
public:
    // The cluster TIGERFANS_TEST_POSTGRES names, else one started on first call. Throws with
    // the reason (and the server log's path) when PostgreSQL cannot be started: it is a
    // required part of the test environment.
    static PostgresCluster& shared();

    // Starts a cluster in a new directory under /tmp and returns that directory.
    static std::string start_new();
    // Stops the cluster in `root` and removes the directory.
    static void stop_and_remove(const std::string& root);

    // Creates an empty database and returns its DATABASE_URL.
    std::string create_database();

    const std::string& socket_dir() const { return socket_dir_; }
    std::string url_for(const std::string& database) const;

    ~PostgresCluster();
    PostgresCluster(const PostgresCluster&) = delete;
    PostgresCluster& operator=(const PostgresCluster&) = delete;

private:
    // An empty `root` starts a cluster owned (and stopped) by this process.
    explicit PostgresCluster(std::string root);

    std::string root_dir_;
    std::string socket_dir_;
    int next_database_ = 0;
    bool owned_ = false;
};

}  // namespace tigerfans::testing

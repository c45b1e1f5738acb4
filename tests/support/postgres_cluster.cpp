// The integration tests' PostgreSQL cluster.
#include "support/postgres_cluster.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <stdexcept>

#include "support/process.hpp"

namespace tigerfans::testing {

namespace {
constexpr int socket_port = 5432;  // Only names the socket file; no TCP listener.

std::string postgres_bin_dir() {
    for (const char* version : {"17", "16", "15", "14", "13"}) {
        const std::string dir = std::string("/usr/lib/postgresql/") + version + "/bin";
        if (access((dir + "/initdb").c_str(), X_OK) == 0) return dir;
    }
    const std::string initdb = find_program("initdb");
    if (initdb.empty()) return {};
    return std::filesystem::path(initdb).parent_path().string();
}

// Runs a PostgreSQL tool, as the postgres user when we are root.
std::vector<std::string> as_owner(std::vector<std::string> argv) {
    if (!running_as_root()) return argv;
    argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    return argv;
}

void give_to_postgres(const std::string& path) {
    if (!running_as_root()) return;
    run_command({"chown", "-R", "postgres:postgres", path});
}

// initdb into root/data, then the server on a socket in root/run; its log is root/postgres.log.
void init_and_start(const std::string& bin_dir, const std::string& root) {
    const std::string data_dir = root + "/data";
    const std::string socket_dir = root + "/run";
    const std::string log_path = root + "/postgres.log";
    std::filesystem::create_directories(socket_dir);
    give_to_postgres(root);
    const int init = run_command(as_owner({bin_dir + "/initdb", "-D", data_dir, "-U", "postgres",
                                           "--auth=trust", "--no-sync", "-E", "UTF8"}),
                                 log_path);
    if (init != 0) throw std::runtime_error("initdb failed; see " + log_path);
    give_to_postgres(log_path);
    const std::string options = "-k " + socket_dir + " -c listen_addresses='' -p " +
                                std::to_string(socket_port) +
                                " -c fsync=off -c full_page_writes=off -c max_connections=300";
    const int started = run_command(as_owner({bin_dir + "/pg_ctl", "-D", data_dir, "-o", options,
                                              "-l", log_path, "-w", "-t", "60", "start"}));
    if (started != 0) throw std::runtime_error("pg_ctl start failed; see " + log_path);
}

// The directory of the ctest fixture's cluster, from the file TIGERFANS_TEST_POSTGRES names;
// empty without the variable.
std::string fixture_root() {
    const char* file = std::getenv("TIGERFANS_TEST_POSTGRES");
    if (file == nullptr || *file == '\0') return {};
    std::ifstream in(file);
    std::string root;
    std::getline(in, root);
    if (root.empty()) {
        throw std::runtime_error(std::string("TIGERFANS_TEST_POSTGRES names ") + file +
                                 ", which names no running cluster (ctest's postgres_start "
                                 "starts one)");
    }
    return root;
}
}  // namespace

PostgresCluster& PostgresCluster::shared() {
    static PostgresCluster cluster(fixture_root());
    return cluster;
}

PostgresCluster::PostgresCluster(std::string root) : root_dir_(std::move(root)) {
    owned_ = root_dir_.empty();
    if (owned_) root_dir_ = start_new();
    socket_dir_ = root_dir_ + "/run";
}

PostgresCluster::~PostgresCluster() {
    if (owned_) stop_and_remove(root_dir_);
}

std::string PostgresCluster::start_new() {
    const std::string bin_dir = postgres_bin_dir();
    if (bin_dir.empty()) {
        throw std::runtime_error("PostgreSQL server binaries not found: run `make setup`");
    }
    const std::string root = make_temp_dir("tigerfans-pg");
    chmod(root.c_str(), 0755);
    init_and_start(bin_dir, root);  // On failure the directory stays, with the log.
    return root;
}

void PostgresCluster::stop_and_remove(const std::string& root) {
    run_command(as_owner(
        {postgres_bin_dir() + "/pg_ctl", "-D", root + "/data", "-m", "immediate", "-w", "stop"}));
    remove_tree(root);
}

std::string PostgresCluster::url_for(const std::string& database) const {
    return "postgresql:///" + database + "?host=" + socket_dir_ +
           "&port=" + std::to_string(socket_port) + "&user=postgres";
}

std::string PostgresCluster::create_database() {
    const std::string name =
        "test_" + std::to_string(getpid()) + "_" + std::to_string(next_database_++);
    pqxx::connection admin(url_for("postgres"));
    pqxx::nontransaction command(admin);
    command.exec("CREATE DATABASE " + name);
    return url_for(name);
}

}  // namespace tigerfans::testing

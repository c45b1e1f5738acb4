// The integration tests' PostgreSQL cluster.
#include "support/postgres_cluster.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
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
}  // namespace

PostgresCluster& PostgresCluster::shared() {
    static PostgresCluster cluster;
    return cluster;
}

PostgresCluster::PostgresCluster() { start(); }

PostgresCluster::~PostgresCluster() { stop(); }

void PostgresCluster::start() {
    bin_dir_ = postgres_bin_dir();
    if (bin_dir_.empty()) {
        throw std::runtime_error("PostgreSQL server binaries not found: run `make setup`");
    }
    root_dir_ = make_temp_dir("tigerfans-pg");
    chmod(root_dir_.c_str(), 0755);
    data_dir_ = root_dir_ + "/data";
    socket_dir_ = root_dir_ + "/run";
    log_path_ = root_dir_ + "/postgres.log";
    std::filesystem::create_directories(socket_dir_);
    give_to_postgres(root_dir_);

    const int init = run_command(as_owner({bin_dir_ + "/initdb", "-D", data_dir_, "-U", "postgres",
                                           "--auth=trust", "--no-sync", "-E", "UTF8"}),
                                 log_path_);
    if (init != 0) throw std::runtime_error("initdb failed; see " + log_path_);
    give_to_postgres(log_path_);
    const std::string options = "-k " + socket_dir_ + " -c listen_addresses='' -p " +
                                std::to_string(socket_port) +
                                " -c fsync=off -c full_page_writes=off -c max_connections=300";
    const int started = run_command(as_owner({bin_dir_ + "/pg_ctl", "-D", data_dir_, "-o", options,
                                              "-l", log_path_, "-w", "-t", "60", "start"}));
    if (started != 0) throw std::runtime_error("pg_ctl start failed; see " + log_path_);
    started_ = true;
}

void PostgresCluster::stop() {
    if (!started_) return;
    run_command(as_owner({bin_dir_ + "/pg_ctl", "-D", data_dir_, "-m", "immediate", "-w", "stop"}));
    started_ = false;
    remove_tree(root_dir_);
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

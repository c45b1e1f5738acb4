// Database thread: job queue, connection management, exception-to-fault mapping.
#include "postgres/worker.hpp"

#include <spdlog/spdlog.h>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::postgres {

std::string connection_string(const std::string& database_url, const std::string& worker_name) {
    std::string result = database_url;
    const bool is_uri = result.starts_with("postgresql://") || result.starts_with("postgres://");
    if (!is_uri) {
        if (result.find("connect_timeout") == std::string::npos) result += " connect_timeout=3";
        result += " application_name=tigerfans-" + worker_name;
        return result;
    }
    char separator = result.find('?') == std::string::npos ? '?' : '&';
    if (result.find("connect_timeout=") == std::string::npos) {
        result += separator;
        result += "connect_timeout=3";
        separator = '&';
    }
    result += separator;
    result += "application_name=tigerfans-" + worker_name;
    return result;
}

std::vector<std::unique_ptr<Worker>> make_workers(const asio::any_io_executor& loop,
                                                  const std::string& database_url,
                                                  const std::string& prefix, std::size_t count,
                                                  const ConnectHook& on_connect) {
    TF_ASSERT(count >= 1);
    std::vector<std::unique_ptr<Worker>> workers;
    for (std::size_t i = 1; i <= count; i++) {
        workers.push_back(std::make_unique<Worker>(loop, database_url,
                                                   prefix + "-" + std::to_string(i), on_connect));
    }
    return workers;
}

std::vector<Worker*> pointers(const std::vector<std::unique_ptr<Worker>>& workers) {
    std::vector<Worker*> result;
    result.reserve(workers.size());
    for (const auto& worker : workers) result.push_back(worker.get());
    return result;
}

Worker::Worker(asio::any_io_executor loop, std::string database_url, std::string name,
               ConnectHook on_connect)
    : loop_(std::move(loop)),
      connection_string_(connection_string(database_url, name)),
      name_(std::move(name)),
      on_connect_(std::move(on_connect)),
      thread_([this] { thread_main(); }) {}

Worker::~Worker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void Worker::push(std::unique_ptr<JobBase> job) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            jobs_.push_back(std::move(job));
            job = nullptr;
        }
    }
    if (job) {
        job->run(nullptr, Fault::shutting_down);
        return;
    }
    wake_.notify_one();
}

Worker::Failure Worker::classify_current_exception() {
    try {
        throw;
    } catch (const pqxx::broken_connection& error) {
        spdlog::warn("postgres: connection lost: {}", error.what());
        return {Fault::unavailable, true};
    } catch (const pqxx::in_doubt_error& error) {
        spdlog::error("postgres: commit in doubt: {}", error.what());
        return {Fault::unavailable, true};
    } catch (const pqxx::transaction_rollback& error) {
        spdlog::warn("postgres: transaction rolled back: {}", error.what());
        return {Fault::unavailable, true};
    } catch (const pqxx::sql_error& error) {
        // Class 57: operator intervention (57014 statement timeout, 57P01 admin shutdown).
        const std::string& state = error.sqlstate();
        if (state == "57014") return {Fault::timeout, false};
        if (state.starts_with("57") || state.starts_with("08")) return {Fault::unavailable, true};
        spdlog::error("postgres: {} (sqlstate {})", error.what(), state);
        // 0A000 (feature not supported) is also what a prepared statement meets once another
        // process changed the type of a column it returns: it fails until it is prepared
        // again, which the next job's fresh connection does. Other 0A000 errors cost only
        // that reconnect.
        return {Fault::internal, state == "0A000"};
    } catch (const std::exception& error) {
        spdlog::error("postgres: {}", error.what());
        return {Fault::internal, false};
    }
}

pqxx::connection* Worker::ensure_connected() {
    if (connection_ && connection_->is_open()) return connection_.get();
    connection_.reset();
    const auto now = std::chrono::steady_clock::now();
    if (now < next_connect_attempt_) return nullptr;
    try {
        connection_ = std::make_unique<pqxx::connection>(connection_string_);
        // Through set_variable, not a raw SET: libpqxx restores these if it ever reconnects on
        // its own.
        connection_->set_variable("statement_timeout",
                                  std::to_string(limits::pg_statement_timeout_ms));
        connection_->set_variable("synchronous_commit", "on");
        connection_->set_variable("TimeZone", "'UTC'");
        // Every prepared statement is planned for the arrays it gets. A batch carries 1 to
        // 2,000 ids, and a generic plan, which PostgreSQL may settle on after five runs, sees
        // none of them: under load the ledger and order statements then scanned their whole
        // table once a batch, and levels 1 and 2 ran up to 15 times slower (docs/BENCHMARKS.md).
        connection_->set_variable("plan_cache_mode", "force_custom_plan");
        if (on_connect_) on_connect_(*connection_);
        spdlog::info("postgres[{}]: connected", name_);
        return connection_.get();
    } catch (const std::exception& error) {
        spdlog::warn("postgres[{}]: cannot connect: {}", name_, error.what());
        connection_.reset();
        next_connect_attempt_ = now + std::chrono::milliseconds(limits::pg_reconnect_delay_ms);
        return nullptr;
    }
}

void Worker::thread_main() {
    for (;;) {
        std::unique_ptr<JobBase> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) break;  // Stopping and drained.
            job = std::move(jobs_.front());
            jobs_.pop_front();
            if (stopping_) {
                lock.unlock();
                job->run(nullptr, Fault::shutting_down);
                continue;
            }
        }
        pqxx::connection* connection = ensure_connected();
        const std::optional<Failure> failure = job->run(connection, Fault::unavailable);
        // A lost connection may still look open to libpqxx: start afresh on the next job.
        const bool drop =
            (failure && failure->reconnect) || (connection_ && !connection_->is_open());
        if (drop) connection_.reset();
    }
    connection_.reset();
}

asio::awaitable<bool> Worker::ping() {
    auto result = co_await run<bool>([](pqxx::connection& connection) {
        pqxx::nontransaction query(connection);
        query.exec("SELECT 1");
        return true;
    });
    co_return result.ok();
}

}  // namespace tigerfans::postgres

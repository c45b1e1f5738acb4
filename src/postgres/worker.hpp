// The database thread: libpqxx is blocking, so each PostgreSQL-backed store owns a Worker, a
// thread with one connection that runs jobs from a queue and posts each result back to the
// loop. Private to the PostgreSQL backends: nothing outside them sees pqxx types.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tigerfans/core/async.hpp"
#include "tigerfans/core/result.hpp"

namespace tigerfans::postgres {

// Adds connect_timeout and the application name to a DATABASE_URL when it lacks them.
std::string connection_string(const std::string& database_url, const std::string& worker_name);

// Runs on the database thread after each (re)connect, e.g. to define prepared statements, which
// live and die with a connection.
using ConnectHook = std::function<void(pqxx::connection&)>;

class Worker {
public:
    Worker(asio::any_io_executor loop, std::string database_url, std::string name,
           ConnectHook on_connect = {});
    ~Worker();  // Stops and joins the thread; queued jobs fail with shutting_down.
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Runs `job(connection)` on the database thread and resumes the caller on the loop with
    // its value. Connection loss, timeouts and SQL errors become faults; the next job
    // reconnects.
    template <typename T, typename Job>
    asio::awaitable<Result<T>> run(Job job) {
        co_return co_await await_completion<Result<T>>([&](Completion<Result<T>> done) {
            push(std::make_unique<TypedJob<T, Job>>(std::move(job), std::move(done), loop_));
        });
    }

    asio::awaitable<bool> ping();
    const std::string& name() const { return name_; }
    const asio::any_io_executor& loop() const { return loop_; }

private:
    // How a job failed, and whether its connection must go: it broke, or it holds prepared
    // statements that no longer fit the schema. The next job then connects afresh.
    struct Failure {
        Fault fault = Fault::internal;
        bool reconnect = false;
    };

    struct JobBase {
        virtual ~JobBase() = default;
        // Returns how the job failed, if it did, so the thread can drop the connection.
        virtual std::optional<Failure> run(pqxx::connection* connection,
                                           Fault connection_fault) = 0;
    };

    template <typename T, typename Job>
    struct TypedJob final : JobBase {
        TypedJob(Job job_, Completion<Result<T>> done_, asio::any_io_executor loop_)
            : job(std::move(job_)), done(std::move(done_)), loop(std::move(loop_)) {}

        std::optional<Failure> run(pqxx::connection* connection, Fault connection_fault) override {
            std::optional<Failure> failure;
            if (connection == nullptr) failure = Failure{connection_fault, false};
            Result<T> result = failure ? Result<T>(failure->fault) : guarded(*connection, failure);
            // A job may also answer a fault without throwing: unavailable still means the
            // connection is suspect.
            if (!failure && !result.ok()) {
                failure = Failure{result.fault(), result.fault() == Fault::unavailable};
            }
            asio::post(loop, [done = std::move(done), result = std::move(result)]() mutable {
                std::move(done)(std::move(result));
            });
            return failure;
        }

        Result<T> guarded(pqxx::connection& connection, std::optional<Failure>& failure) {
            try {
                return Result<T>(job(connection));
            } catch (...) {
                failure = classify_current_exception();
                return Result<T>(failure->fault);
            }
        }

        Job job;
        Completion<Result<T>> done;
        asio::any_io_executor loop;
    };

    static Failure classify_current_exception();
    void push(std::unique_ptr<JobBase> job);
    void thread_main();
    pqxx::connection* ensure_connected();

    asio::any_io_executor loop_;
    std::string connection_string_;
    std::string name_;
    ConnectHook on_connect_;
    std::unique_ptr<pqxx::connection> connection_;  // Database thread only.
    std::chrono::steady_clock::time_point next_connect_attempt_{};

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::unique_ptr<JobBase>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

// `count` workers, one connection each, named <prefix>-1, <prefix>-2, ...: the connections of a
// store whose batches run on several at once.
std::vector<std::unique_ptr<Worker>> make_workers(const asio::any_io_executor& loop,
                                                  const std::string& database_url,
                                                  const std::string& prefix, std::size_t count,
                                                  const ConnectHook& on_connect);

// The workers as the batcher takes them.
std::vector<Worker*> pointers(const std::vector<std::unique_ptr<Worker>>& workers);

}  // namespace tigerfans::postgres

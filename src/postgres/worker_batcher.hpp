// The automatic batcher (core/auto_batcher.hpp) bound to database threads: each batch becomes
// ONE job on a Worker, which the store writes as one transaction (group commit), and each
// batch's size and latency land in the store's metrics. Given several Workers, the batcher
// keeps up to that many batches in flight, each on an idle Worker of the pool
// (worker_pool.hpp), so each on its own connection. Every PostgreSQL store is built from
// Workers and one or more of these. Loop thread only, except `job`, which runs on a database
// thread and so must touch nothing but its arguments.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "postgres/worker.hpp"
#include "postgres/worker_pool.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/auto_batcher.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/metrics/metrics.hpp"

namespace tigerfans::postgres {

// Per store: `tigerfans_pg_batch_items`, `tigerfans_pg_batch_seconds` and
// `tigerfans_pg_batch_faults_total`, labelled store="<name>".
class BatchMetrics {
public:
    BatchMetrics(metrics::Registry& registry, std::string_view store);
    BatcherObserver observer();
    void observe(std::chrono::steady_clock::time_point started, bool ok);

private:
    metrics::Histogram& items_;
    metrics::Histogram& seconds_;
    metrics::Counter& faults_;
};

template <typename Item, typename Outcome>
class WorkerBatcher {
public:
    // Runs a whole batch on the database thread; returns one outcome per item, in order.
    using Job = std::function<std::vector<Outcome>(pqxx::connection&, std::vector<Item>&)>;

    WorkerBatcher(Worker& worker, Job job, std::size_t batch_items_max, metrics::Registry& registry,
                  std::string_view store)
        : WorkerBatcher(std::vector<Worker*>{&worker}, std::move(job), batch_items_max, registry,
                        store) {}

    // Up to one batch in flight per worker, each on a worker of its own.
    WorkerBatcher(const std::vector<Worker*>& workers, Job job, std::size_t batch_items_max,
                  metrics::Registry& registry, std::string_view store)
        : job_(std::move(job)),
          metrics_(registry, store),
          workers_(workers),
          batcher_(
              workers.front()->loop(), [this](std::span<Item> items) { return execute(items); },
              batch_items_max, limits::batcher_queue_items_max, metrics_.observer(),
              workers_.size()) {}

    asio::awaitable<Result<Outcome>> submit_one(Item item) {
        return batcher_.submit_one(std::move(item));
    }

    // For stores whose Outcome is a variant of each operation's answer: the alternative T.
    template <typename T>
    asio::awaitable<Result<T>> submit_one_as(Item item) {
        Result<Outcome> outcome = co_await submit_one(std::move(item));
        if (!outcome) co_return outcome.fault();
        TF_ASSERT(std::holds_alternative<T>(*outcome));
        co_return std::get<T>(std::move(*outcome));
    }

    // New submissions fail with shutting_down; completes when the queued ones have run.
    asio::awaitable<void> stop() {
        batcher_.stop();
        co_await batcher_.drain();
    }

private:
    // The batcher keeps no more batches in flight than there are workers: one is idle.
    asio::awaitable<Result<std::vector<Outcome>>> execute(std::span<Item> items) {
        const WorkerPool<Worker>::Lease lease = workers_.take();
        // The database thread gets its own copy: the batcher reuses its buffer.
        std::vector<Item> batch(std::make_move_iterator(items.begin()),
                                std::make_move_iterator(items.end()));
        const auto started = std::chrono::steady_clock::now();
        // A named job, not a temporary in the co_await expression: GCC 12 destroys such
        // temporaries twice.
        auto job = [job = &job_, batch = std::move(batch)](pqxx::connection& connection) mutable {
            std::vector<Outcome> result = (*job)(connection, batch);
            TF_ASSERT_EQ(result.size(), batch.size());
            return result;
        };
        auto outcomes = co_await lease.worker().run<std::vector<Outcome>>(std::move(job));
        metrics_.observe(started, outcomes.ok());
        co_return outcomes;
    }

    const Job job_;
    BatchMetrics metrics_;
    WorkerPool<Worker> workers_;
    AutoBatcher<Item, Outcome> batcher_;
};

}  // namespace tigerfans::postgres

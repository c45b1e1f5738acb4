// The automatic batcher (core/auto_batcher.hpp) bound to database threads: each batch becomes
// ONE job on a Worker, which the store writes as one transaction (group commit), and each
// batch's size and latency land in the store's metrics. Given several Workers, it keeps one
// lane per Worker (batcher_lanes.hpp), so up to that many batches are in flight at once, each
// on its own connection. Every PostgreSQL store is built from Workers and one or more of these.
// Loop thread only, except `job`, which runs on a database thread and so must touch nothing
// but its arguments.
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

#include "postgres/batcher_lanes.hpp"
#include "postgres/worker.hpp"
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

    // One lane per worker; the lanes share the store's metrics and its queue limit.
    WorkerBatcher(const std::vector<Worker*>& workers, Job job, std::size_t batch_items_max,
                  metrics::Registry& registry, std::string_view store)
        : job_(std::move(job)),
          metrics_(registry, store),
          lanes_(workers.front()->loop(), executes(workers), batch_items_max,
                 limits::batcher_queue_items_max, metrics_.observer()) {}

    asio::awaitable<Result<Outcome>> submit_one(Item item) {
        return lanes_.submit_one(std::move(item));
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
        lanes_.stop();
        co_await lanes_.drain();
    }

private:
    using Lanes = BatcherLanes<Item, Outcome>;

    std::vector<typename Lanes::Execute> executes(const std::vector<Worker*>& workers) {
        TF_ASSERT(!workers.empty());
        std::vector<typename Lanes::Execute> result;
        for (Worker* worker : workers) {
            result.push_back(
                [this, worker](std::span<Item> items) { return execute(*worker, items); });
        }
        return result;
    }

    asio::awaitable<Result<std::vector<Outcome>>> execute(Worker& worker, std::span<Item> items) {
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
        auto outcomes = co_await worker.run<std::vector<Outcome>>(std::move(job));
        metrics_.observe(started, outcomes.ok());
        co_return outcomes;
    }

    const Job job_;
    BatchMetrics metrics_;
    Lanes lanes_;
};

}  // namespace tigerfans::postgres

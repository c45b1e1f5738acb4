// Batch metrics of the PostgreSQL stores.
#include "postgres/worker_batcher.hpp"

namespace tigerfans::postgres {

namespace {
std::string store_label(std::string_view store) { return "store=\"" + std::string(store) + "\""; }
}  // namespace

BatchMetrics::BatchMetrics(metrics::Registry& registry, std::string_view store)
    : items_(registry.histogram("tigerfans_pg_batch_items", "Items per PostgreSQL batch",
                                metrics::batch_size_buckets(), store_label(store))),
      seconds_(registry.histogram("tigerfans_pg_batch_seconds",
                                  "Latency of one PostgreSQL batch (one transaction)",
                                  metrics::latency_buckets_seconds(), store_label(store))),
      faults_(registry.counter("tigerfans_pg_batch_faults_total",
                               "PostgreSQL batches that failed as a whole", store_label(store))) {}

BatcherObserver BatchMetrics::observer() {
    return BatcherObserver{
        [this](std::size_t items) { items_.observe(static_cast<double>(items)); }};
}

void BatchMetrics::observe(std::chrono::steady_clock::time_point started, bool ok) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    seconds_.observe(elapsed.count());
    if (!ok) faults_.add();
}

}  // namespace tigerfans::postgres

// Plain counters and histograms, registered by the component that updates them and rendered on
// demand as Prometheus text by /metrics. Loop thread only: no atomics, no locks.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tigerfans::metrics {

class Counter {
public:
    void add(std::uint64_t amount = 1) { value_ += amount; }
    std::uint64_t value() const { return value_; }

private:
    std::uint64_t value_ = 0;
};

class Gauge {
public:
    void set(double value) { value_ = value; }
    double value() const { return value_; }

private:
    double value_ = 0;
};

// Cumulative buckets with fixed upper bounds, as Prometheus expects.
class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double value);
    std::uint64_t count() const { return count_; }
    double sum() const { return sum_; }
    double mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }
    // The smallest bucket bound below which at least `fraction` of the observations fall.
    double quantile_bound(double fraction) const;
    std::span<const double> upper_bounds() const { return upper_bounds_; }
    std::span<const std::uint64_t> bucket_counts() const { return bucket_counts_; }

private:
    std::vector<double> upper_bounds_;
    std::vector<std::uint64_t> bucket_counts_;  // Per bucket, not cumulative; last is +Inf.
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

// The smallest bound of `upper_bounds` below which at least `fraction` of the observations
// counted in `counts` fall: per-bucket counts, one more than the bounds (the last is +Inf, which
// answers infinity). 0 when nothing was counted. Works on the difference of two snapshots too.
double quantile_bound(std::span<const double> upper_bounds, std::span<const std::uint64_t> counts,
                      double fraction);

// Bucket sets used across the server.
std::vector<double> latency_buckets_seconds();  // 50 µs .. 10 s
std::vector<double> batch_size_buckets();       // 1 .. 8192

// Labels are a pre-rendered Prometheus label set without braces, e.g. `store="redis"`.
class Registry {
public:
    Counter& counter(std::string_view name, std::string_view help, std::string_view labels = {});
    Gauge& gauge(std::string_view name, std::string_view help, std::string_view labels = {});
    Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                         std::string_view labels = {});
    std::string render_prometheus() const;

    // Looks up an existing series; nullptr when it was never registered.
    const Histogram* find_histogram(std::string_view name, std::string_view labels) const;
    const Counter* find_counter(std::string_view name, std::string_view labels) const;

private:
    struct Family {
        std::string help;
        std::string type;
        std::map<std::string, Counter*> counters;
        std::map<std::string, Gauge*> gauges;
        std::map<std::string, Histogram*> histograms;
    };
    Family& family(std::string_view name, std::string_view help, std::string_view type);

    std::map<std::string, Family, std::less<>> families_;
    std::deque<Counter> counters_;  // Deques keep addresses stable as series are added.
    std::deque<Gauge> gauges_;
    std::deque<Histogram> histograms_;
};

}  // namespace tigerfans::metrics

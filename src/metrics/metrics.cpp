// Metric storage and Prometheus text rendering.
#include "tigerfans/metrics/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::metrics {

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), bucket_counts_(upper_bounds_.size() + 1, 0) {
    TF_ASSERT(std::is_sorted(upper_bounds_.begin(), upper_bounds_.end()));
}

void Histogram::observe(double value) {
    const auto bound = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
    bucket_counts_[static_cast<std::size_t>(bound - upper_bounds_.begin())]++;
    count_++;
    sum_ += value;
}

double Histogram::quantile_bound(double fraction) const {
    return metrics::quantile_bound(upper_bounds_, bucket_counts_, fraction);
}

double quantile_bound(std::span<const double> upper_bounds, std::span<const std::uint64_t> counts,
                      double fraction) {
    TF_ASSERT_EQ(counts.size(), upper_bounds.size() + 1);
    std::uint64_t total = 0;
    for (const std::uint64_t count : counts) total += count;
    if (total == 0) return 0.0;
    const double wanted = fraction * static_cast<double>(total);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < upper_bounds.size(); i++) {
        seen += counts[i];
        if (static_cast<double>(seen) >= wanted) return upper_bounds[i];
    }
    return std::numeric_limits<double>::infinity();
}

std::vector<double> latency_buckets_seconds() {
    return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
            0.05,    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0};
}

std::vector<double> batch_size_buckets() {
    return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
}

Registry::Family& Registry::family(std::string_view name, std::string_view help,
                                   std::string_view type) {
    auto found = families_.find(name);
    if (found == families_.end()) {
        found = families_.emplace(std::string(name), Family{std::string(help), std::string(type)})
                    .first;
    }
    TF_ASSERT(found->second.type == type);
    return found->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, std::string_view labels) {
    Family& f = family(name, help, "counter");
    auto [slot, inserted] = f.counters.try_emplace(std::string(labels), nullptr);
    if (inserted) slot->second = &counters_.emplace_back();
    return *slot->second;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, std::string_view labels) {
    Family& f = family(name, help, "gauge");
    auto [slot, inserted] = f.gauges.try_emplace(std::string(labels), nullptr);
    if (inserted) slot->second = &gauges_.emplace_back();
    return *slot->second;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> bounds, std::string_view labels) {
    Family& f = family(name, help, "histogram");
    auto [slot, inserted] = f.histograms.try_emplace(std::string(labels), nullptr);
    if (inserted) slot->second = &histograms_.emplace_back(std::move(bounds));
    return *slot->second;
}

const Histogram* Registry::find_histogram(std::string_view name, std::string_view labels) const {
    auto found = families_.find(name);
    if (found == families_.end()) return nullptr;
    auto series = found->second.histograms.find(std::string(labels));
    return series == found->second.histograms.end() ? nullptr : series->second;
}

const Counter* Registry::find_counter(std::string_view name, std::string_view labels) const {
    auto found = families_.find(name);
    if (found == families_.end()) return nullptr;
    auto series = found->second.counters.find(std::string(labels));
    return series == found->second.counters.end() ? nullptr : series->second;
}

namespace {
std::string number(double value) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.17g", value);
    return text;
}

std::string series(std::string_view name, std::string_view labels, std::string_view extra = {}) {
    std::string out(name);
    if (labels.empty() && extra.empty()) return out;
    out += '{';
    out += labels;
    if (!labels.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
    return out;
}

void render_histogram(std::string& out, const std::string& name, const std::string& labels,
                      const Histogram& h) {
    std::uint64_t cumulative = 0;
    const auto bounds = h.upper_bounds();
    const auto counts = h.bucket_counts();
    for (std::size_t i = 0; i < bounds.size(); i++) {
        cumulative += counts[i];
        out += series(name + "_bucket", labels, "le=\"" + number(bounds[i]) + "\"");
        out += ' ' + std::to_string(cumulative) + '\n';
    }
    out += series(name + "_bucket", labels, "le=\"+Inf\"") + ' ' + std::to_string(h.count()) + '\n';
    out += series(name + "_sum", labels) + ' ' + number(h.sum()) + '\n';
    out += series(name + "_count", labels) + ' ' + std::to_string(h.count()) + '\n';
}
}  // namespace

std::string Registry::render_prometheus() const {
    std::string out;
    for (const auto& [name, f] : families_) {
        out += "# HELP " + name + ' ' + f.help + '\n';
        out += "# TYPE " + name + ' ' + f.type + '\n';
        for (const auto& [labels, c] : f.counters) {
            out += series(name, labels) + ' ' + std::to_string(c->value()) + '\n';
        }
        for (const auto& [labels, g] : f.gauges) {
            out += series(name, labels) + ' ' + number(g->value()) + '\n';
        }
        for (const auto& [labels, h] : f.histograms) render_histogram(out, name, labels, *h);
    }
    return out;
}

}  // namespace tigerfans::metrics

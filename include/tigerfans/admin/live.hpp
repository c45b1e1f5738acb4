// The admin's live view: a sample a second of admission, checkouts, sales, holds, stock and
// request latency, the last few minutes kept in a ring in memory (GET /api/admin/live), and
// the admission change an operator posts (POST /api/admin/admission). Loop thread only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/queue/admission_control.hpp"

namespace tigerfans::admin {

namespace asio = boost::asio;

struct StockLeft {
    std::uint64_t class_a = 0;
    std::uint64_t class_b = 0;
};

// One interval of the live view, stamped with its end. An optional figure is unknown: the
// ledger's when its last good read is stale, the latency when no request was answered.
struct LiveSample {
    std::int64_t t_ms = 0;  // Unix time.
    std::uint64_t queue_length = 0;
    double admitted_per_s = 0;
    std::uint32_t target_per_s = 0;
    bool paused = false;
    double checkouts_per_s = 0;
    double sales_per_s = 0;
    std::optional<std::uint64_t> active_holds;  // Ticket holds, both classes.
    std::optional<StockLeft> stock_left;
    std::optional<double> p99_ms;  // A bucket bound of the request histogram, at most 10 s.
};

// What the sampler reads at one instant: the totals the rates are the differences of.
struct LiveReading {
    std::int64_t unix_ms = 0;
    std::chrono::steady_clock::time_point at{};
    queue::AdmissionState admission;
    std::uint64_t checkouts = 0;
    std::uint64_t sales = 0;
    std::vector<std::uint64_t> latency_counts;  // The request histogram's per-bucket counts.
};

// Events a second between two totals `elapsed` apart; 0 when no time passed or the total went
// back (a counter that restarted).
double rate_per_second(std::uint64_t before, std::uint64_t after,
                       std::chrono::steady_clock::duration elapsed);

// The p99, in ms, of the observations made between two snapshots of a latency histogram in
// seconds (per-bucket counts; the last bucket is +Inf, answered as the last bound). Unknown
// when nothing was observed between them.
std::optional<double> p99_ms_between(std::span<const double> upper_bounds_s,
                                     std::span<const std::uint64_t> before,
                                     std::span<const std::uint64_t> after);

// The sample of the interval from `before` to `after`, without the ledger's figures.
LiveSample sample_between(const LiveReading& before, const LiveReading& after,
                          std::span<const double> latency_bounds_s);

nlohmann::json to_json(const LiveSample& sample);
nlohmann::json to_json(const queue::AdmissionState& state);

// The last `capacity` samples, oldest first; adding to a full ring drops the oldest.
class LiveSeries {
public:
    explicit LiveSeries(std::size_t capacity);

    void add(const LiveSample& sample);
    // The samples stamped after `t_ms`, oldest first.
    std::vector<LiveSample> since(std::int64_t t_ms) const;
    std::size_t size() const { return size_; }
    std::size_t capacity() const { return ring_.size(); }

private:
    std::vector<LiveSample> ring_;
    std::size_t first_ = 0;  // The oldest sample's slot.
    std::size_t size_ = 0;
};

// What the sampler reads: the admission control, the ledger (in the background), the flows'
// checkout and sale counts and the HTTP server's request latency.
struct LiveSources {
    queue::AdmissionControl& admission;
    accounting::Ledger& ledger;
    const metrics::Counter& checkouts;
    const metrics::Counter& sales;
    const metrics::Histogram& request_seconds;
};

// Takes a sample every `interval` into its series. The ledger is read once an interval in a
// coroutine of its own, at most one read at a time, so a slow or failing ledger delays no
// sample: its figures are left unknown instead.
class LiveSampler {
public:
    LiveSampler(asio::any_io_executor loop, LiveSources sources, std::chrono::milliseconds interval,
                std::size_t samples_max, std::chrono::milliseconds ledger_stale);

    void start();
    // Ends the sampling, and waits up to `wait` for a ledger read still running.
    asio::awaitable<void> stop(std::chrono::milliseconds wait);

    const LiveSeries& series() const { return series_; }
    std::chrono::milliseconds interval() const { return interval_; }

private:
    asio::awaitable<void> loop();
    asio::awaitable<void> read_ledger();
    void start_ledger_read();
    LiveReading read_now() const;
    void add_ledger_figures(LiveSample& sample) const;

    LiveSources sources_;
    std::chrono::milliseconds interval_;
    std::chrono::milliseconds ledger_stale_;
    asio::steady_timer timer_;
    LiveSeries series_;
    std::optional<accounting::Inventory> inventory_;  // The last good read; a failed one clears it.
    std::chrono::steady_clock::time_point inventory_at_{};
    bool ledger_reading_ = false;
    bool loop_running_ = false;
    bool stopping_ = false;
};

// What an operator may change: pause or resume admission, its rate; at least one of the two.
struct AdmissionChange {
    std::optional<bool> paused;
    std::optional<std::uint32_t> per_second;
};

// The body of POST /api/admin/admission: a JSON object with "paused" (true or false) and/or
// "per_second" (an integer from 1 to limits::admit_per_second_max), nothing else. The error
// says what is wrong.
std::variant<AdmissionChange, std::string> parse_admission_change(std::string_view body);

}  // namespace tigerfans::admin

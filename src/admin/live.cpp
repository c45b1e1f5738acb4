// The live view's samples, their ring, the sampler on the loop, and the operator's admission
// change.
#include "tigerfans/admin/live.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/core/timer_loop.hpp"

namespace tigerfans::admin {

using nlohmann::json;

double rate_per_second(std::uint64_t before, std::uint64_t after,
                       std::chrono::steady_clock::duration elapsed) {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    if (seconds <= 0 || after < before) return 0.0;
    return static_cast<double>(after - before) / seconds;
}

std::optional<double> p99_ms_between(std::span<const double> upper_bounds_s,
                                     std::span<const std::uint64_t> before,
                                     std::span<const std::uint64_t> after) {
    TF_ASSERT_EQ(after.size(), upper_bounds_s.size() + 1);
    TF_ASSERT(before.empty() || before.size() == after.size());
    std::vector<std::uint64_t> between(after.size(), 0);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < after.size(); i++) {
        const std::uint64_t earlier = before.empty() ? 0 : before[i];
        between[i] = after[i] >= earlier ? after[i] - earlier : 0;
        total += between[i];
    }
    if (total == 0 || upper_bounds_s.empty()) return std::nullopt;
    const double bound_s = metrics::quantile_bound(upper_bounds_s, between, 0.99);
    return (std::isinf(bound_s) ? upper_bounds_s.back() : bound_s) * 1000.0;
}

LiveSample sample_between(const LiveReading& before, const LiveReading& after,
                          std::span<const double> latency_bounds_s) {
    const auto elapsed = after.at - before.at;
    LiveSample sample;
    sample.t_ms = after.unix_ms;
    sample.queue_length = after.admission.waiting;
    sample.admitted_per_s =
        rate_per_second(before.admission.admitted, after.admission.admitted, elapsed);
    sample.target_per_s = after.admission.per_second;
    sample.paused = after.admission.paused;
    sample.checkouts_per_s = rate_per_second(before.checkouts, after.checkouts, elapsed);
    sample.sales_per_s = rate_per_second(before.sales, after.sales, elapsed);
    sample.p99_ms = p99_ms_between(latency_bounds_s, before.latency_counts, after.latency_counts);
    return sample;
}

namespace {
template <typename T>
json or_null(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
}

// Rates to a hundredth: the charts need no more, and the answer stays short.
double rounded(double value) { return std::round(value * 100.0) / 100.0; }
}  // namespace

json to_json(const LiveSample& sample) {
    json stock = nullptr;
    if (sample.stock_left)
        stock = {{"A", sample.stock_left->class_a}, {"B", sample.stock_left->class_b}};
    return {{"t_ms", sample.t_ms},
            {"queue_length", sample.queue_length},
            {"admitted_per_s", rounded(sample.admitted_per_s)},
            {"target_per_s", sample.target_per_s},
            {"paused", sample.paused},
            {"checkouts_per_s", rounded(sample.checkouts_per_s)},
            {"sales_per_s", rounded(sample.sales_per_s)},
            {"active_holds", or_null(sample.active_holds)},
            {"stock_left", std::move(stock)},
            {"p99_ms", or_null(sample.p99_ms)}};
}

json to_json(const queue::AdmissionState& state) {
    return {{"enabled", state.enabled},
            {"paused", state.paused},
            {"per_second", state.per_second},
            {"waiting", state.waiting},
            {"admitted", state.admitted}};
}

LiveSeries::LiveSeries(std::size_t capacity) : ring_(capacity) { TF_ASSERT(capacity > 0); }

void LiveSeries::add(const LiveSample& sample) {
    if (size_ < ring_.size()) {
        ring_[(first_ + size_) % ring_.size()] = sample;
        size_++;
        return;
    }
    ring_[first_] = sample;
    first_ = (first_ + 1) % ring_.size();
}

std::vector<LiveSample> LiveSeries::since(std::int64_t t_ms) const {
    std::vector<LiveSample> newer;
    for (std::size_t i = 0; i < size_; i++) {
        const LiveSample& sample = ring_[(first_ + i) % ring_.size()];
        if (sample.t_ms > t_ms) newer.push_back(sample);
    }
    return newer;
}

LiveSampler::LiveSampler(asio::any_io_executor loop, LiveSources sources,
                         std::chrono::milliseconds interval, std::size_t samples_max,
                         std::chrono::milliseconds ledger_stale)
    : sources_(sources),
      interval_(interval),
      ledger_stale_(ledger_stale),
      timer_(loop),
      series_(samples_max) {
    TF_ASSERT(interval.count() > 0);
}

void LiveSampler::start() {
    TF_ASSERT(!loop_running_);
    spawn_timer_loop(timer_.get_executor(), loop(), loop_running_, "live view");
}

// The ledger read in flight ends by itself (the ledger stops after the sampler).
asio::awaitable<void> LiveSampler::stop(std::chrono::milliseconds wait) {
    stopping_ = true;
    co_await stop_timer_loop(
        timer_, [this] { return loop_running_ || ledger_reading_; }, wait);
}

LiveReading LiveSampler::read_now() const {
    const auto counts = sources_.request_seconds.bucket_counts();
    return LiveReading{unix_now_us() / 1000,       std::chrono::steady_clock::now(),
                       sources_.admission.state(), sources_.checkouts.value(),
                       sources_.sales.value(),     {counts.begin(), counts.end()}};
}

void LiveSampler::add_ledger_figures(LiveSample& sample) const {
    if (!inventory_ || std::chrono::steady_clock::now() - inventory_at_ > ledger_stale_) return;
    sample.active_holds = inventory_->class_a.held + inventory_->class_b.held;
    sample.stock_left = StockLeft{inventory_->class_a.available(), inventory_->class_b.available()};
}

void LiveSampler::start_ledger_read() {
    if (ledger_reading_ || stopping_) return;  // The previous read is still out: skip this one.
    ledger_reading_ = true;
    asio::co_spawn(timer_.get_executor(), read_ledger(), [this](std::exception_ptr failure) {
        ledger_reading_ = false;
        if (failure) inventory_.reset();
    });
}

asio::awaitable<void> LiveSampler::read_ledger() {
    auto inventory = co_await sources_.ledger.inventory();
    if (!inventory) {
        inventory_.reset();
        co_return;
    }
    inventory_ = *inventory;
    inventory_at_ = std::chrono::steady_clock::now();
}

// Ticks on a fixed schedule; after a stalled loop it starts again from now rather than
// catching up with a burst of samples.
asio::awaitable<void> LiveSampler::loop() {
    boost::system::error_code ignored;
    const auto bounds = sources_.request_seconds.upper_bounds();
    LiveReading before = read_now();
    auto next = before.at;
    start_ledger_read();
    while (!stopping_) {
        next += interval_;
        if (next < std::chrono::steady_clock::now()) next = std::chrono::steady_clock::now();
        timer_.expires_at(next);
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        if (stopping_) break;
        LiveReading after = read_now();
        LiveSample sample = sample_between(before, after, bounds);
        add_ledger_figures(sample);
        series_.add(sample);
        before = std::move(after);
        start_ledger_read();
    }
}

namespace {
constexpr std::string_view admission_fields = "\"paused\" and \"per_second\"";
}  // namespace

std::variant<AdmissionChange, std::string> parse_admission_change(std::string_view body) {
    const json parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return "the body must be a JSON object";
    AdmissionChange change;
    for (const auto& [name, value] : parsed.items()) {
        if (name == "paused") {
            if (!value.is_boolean()) return "paused must be true or false";
            change.paused = value.get<bool>();
        } else if (name == "per_second") {
            const bool whole = value.is_number_integer();
            const auto wanted = whole ? value.get<std::int64_t>() : 0;
            if (!whole || wanted < 1 || wanted > limits::admit_per_second_max) {
                return "per_second must be an integer from 1 to " +
                       std::to_string(limits::admit_per_second_max);
            }
            change.per_second = static_cast<std::uint32_t>(wanted);
        } else {
            return "unknown field \"" + name + "\": only " + std::string(admission_fields);
        }
    }
    if (!change.paused && !change.per_second) {
        return "nothing to change: give " + std::string(admission_fields);
    }
    return change;
}

}  // namespace tigerfans::admin

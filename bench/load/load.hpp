// The load client's engine (tigerfans-load): virtual users doing the fan's flow (checkout,
// MockPay emit, poll the order) on keep-alive connections, and the demo's benchmark phases
// (checkout, webhook, reserve, commit) measured as successful requests per second.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tigerfans::loadgen {

struct Target {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8000;
};

struct FlowOptions {
    Target target;
    int total = 100;
    int concurrency = 20;
    double ratio_a = 0.5;
    double fail_rate = 0.0;
    double cancel_rate = 0.0;
    std::chrono::milliseconds poll_interval{50};
    std::chrono::milliseconds poll_timeout{10'000};
    std::chrono::milliseconds request_timeout{30'000};
};

// Per-order outcome, as the demo's client counts them.
enum class Outcome { paid, paid_unfulfilled, failed, canceled, timeout, error };

struct LatencySummary {
    double avg_s = 0, p50_s = 0, p90_s = 0, p99_s = 0, max_s = 0;
    std::size_t count = 0;
};
LatencySummary summarize(std::vector<double> seconds);

struct FlowReport {
    int total = 0;
    int ok = 0;
    std::map<Outcome, int> outcomes;
    std::map<std::string, int> errors;  // What went wrong, e.g. "checkout: HTTP 503".
    LatencySummary observed;            // Emit until the order is observed (the demo's measure).
    LatencySummary end_to_end;          // Checkout to observed.
    LatencySummary checkout;
    double wall_s = 0;
    double throughput_per_s() const { return wall_s > 0 ? total / wall_s : 0; }
    int count(Outcome outcome) const;
};

// Progress callback: orders finished so far (called at most every few hundred ms).
using Progress = std::function<void(int finished, int total)>;

FlowReport run_flow(const FlowOptions& options, const Progress& progress = {});

enum class Phase { checkout, webhook, reserve, commit };
std::string_view phase_name(Phase phase);

struct PhaseOptions {
    Target target;
    int total = 1000;
    int concurrency = 100;
    std::string webhook_secret = "supersecret";  // Signs webhook-phase events.
    double succeed_rate = 1.0;
    std::chrono::milliseconds request_timeout{30'000};
    int server_pid = 0;  // When positive, each report carries that process's CPU time.
};

struct PhaseReport {
    Phase phase = Phase::checkout;
    int concurrency = 0;
    int total = 0;
    int ok = 0;
    int errors = 0;
    std::map<std::string, int> error_kinds;  // What went wrong, e.g. "HTTP 503", "timeout".
    double wall_s = 0;
    LatencySummary latency;
    // CPU seconds (user + system) the server_pid process used during the phase's calls;
    // nullopt without a server_pid or when its /proc entry could not be read.
    std::optional<double> server_cpu_s;
    double ops_per_s() const { return wall_s > 0 ? ok / wall_s : 0; }
};

// Runs checkout then webhook (on the sessions checkout created), or reserve then commit, as
// the demo's phase benchmark did. Each report measures one phase's wall time.
std::vector<PhaseReport> run_phases(const PhaseOptions& options, const std::vector<Phase>& phases);

}  // namespace tigerfans::loadgen

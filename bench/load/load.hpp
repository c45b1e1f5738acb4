// The load client's engine (tigerfans-load): virtual users doing the fan's flow (checkout,
// MockPay emit, poll the order) on keep-alive connections, the demo's benchmark phases
// (checkout, webhook, reserve, commit) measured as successful requests per second, and the
// waiting room's queue run (join, wait, be admitted, buy).
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

enum class Phase {
    checkout,
    webhook,
    reserve,
    commit,
    seats,
    seats_304,
    seat_holds,
    seat_voids,
    healthz
};

// A seat-holds phase makes at most this many holds of 4 seats: they stay held until the
// seat-voids phase after it, and the stadium's 1,976 rows of 25 seats hold 11,856 runs of 4.
inline constexpr int seat_holds_total_max = 11'000;
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
    int whole_answers = 0;  // seats-304: polls answered 200 with a map changed since, not 304.
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

// The queue mode: `fans` simulated fans join the waiting room, a share of them before the sale
// opens (the pre-queue, whose places the server raffles) and the rest after; they wait, are
// admitted, and `buyers` of them check out with their admission token and pay.
struct QueueOptions {
    FlowOptions flow;  // Target, concurrency, request timeout, and the buyers' payment polls.
    int fans = 100'000;
    double prequeue_share = 0.5;
    int buyers = 1'000;
    // The server's ADMIT_PER_SECOND, when known: the achieved rate is compared with it, and it
    // paces the polls (else the rate the server reports does).
    std::optional<double> admit_per_second;
    std::chrono::milliseconds wait_timeout{600'000};  // For every fan to be admitted.
};

// Requests of one kind: the successes, what went wrong with the others, and their wall time.
struct Tally {
    int attempted = 0;
    int ok = 0;
    std::map<std::string, int> errors;  // e.g. "HTTP 503", "timeout", "HTTP 201 without entry_id".
    double wall_s = 0;
    LatencySummary latency;
    double ok_per_s() const { return wall_s > 0 ? ok / wall_s : 0; }
};

// A checkout that must be refused: what it sent, the error it expects and what it got.
struct TokenCheck {
    std::string what;      // e.g. "forged signature".
    std::string expected;  // The 403's `error`, e.g. "admission_forged".
    std::string got;       // "HTTP 403 admission_forged", "HTTP 200", "timeout", ...
    bool bought = false;   // The checkout was accepted.
    bool as_expected() const { return !bought && got == "HTTP 403 " + expected; }
};

struct QueueReport {
    int fans = 0;
    int concurrency = 0;
    Tally prequeue_joins;  // Joins sent before the opening.
    Tally later_joins;     // Joins sent after it.
    // Fans by the phase their join answer named: the pre-queue band and the later one. A join
    // sent before the opening but answered after it counts as later (prequeue_late).
    int prequeue_fans = 0;
    int later_fans = 0;
    int prequeue_late = 0;
    std::optional<double> sale_opens_in_s;  // What the first join answer said.

    Tally polls;  // GET /api/queue/<id>; wall_s from the first poll to the last admission seen.
    int admitted = 0;
    int never_admitted = 0;      // Still waiting at the wait timeout, or unknown to the server.
    int duplicate_seqs = 0;      // Admission numbers seen on more than one fan.
    bool bands_in_order = true;  // Every pre-queue fan was admitted before every later one.
    std::int64_t first_admitted_at_ms = 0;
    std::int64_t last_admitted_at_ms = 0;
    std::optional<double> admission_rate_per_s;
    std::optional<double> configured_per_s;
    // Kendall's tau-b between join order (the order the join answers arrived) and admission
    // order, within each band.
    std::optional<double> prequeue_tau;
    std::optional<double> later_tau;

    FlowReport buys;             // Admitted fans checking out with their token and paying.
    int token_tickets = 0;       // Tickets one admission allows, as the server said.
    int extra_checkouts_ok = 0;  // A buyer's remaining tickets checked out (used-up check).
    std::vector<TokenCheck> token_checks;
    // Checkouts accepted without a valid token: refused checks that were accepted, and
    // checkouts beyond a token's tickets.
    int bought_without_valid_token = 0;
    double wall_s = 0;

    // |achieved / configured - 1|; nullopt without both.
    std::optional<double> rate_error() const;
    int joined() const { return prequeue_joins.ok + later_joins.ok; }
    // Successful joins a second over the two join phases' wall time.
    double joins_per_s() const;
    // Every fan joined, was admitted once and in band order, every buyer paid, every check
    // refused as expected.
    bool clean() const;
};

QueueReport run_queue(const QueueOptions& options);

}  // namespace tigerfans::loadgen

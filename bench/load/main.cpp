// tigerfans-load: the load client. Flow mode (default) runs the fan's whole flow with the
// original demo's flags and summary; --phases runs the demo's phase benchmark instead; --mode
// queue runs fans through the waiting room.
//   tigerfans-load --base http://127.0.0.1:8000 --total 1000 --concurrency 100
//   tigerfans-load --phases checkout,webhook --total 5000 --concurrency 100 --secret supersecret
//   tigerfans-load --mode queue --fans 100000 --prequeue-share 0.5 --admit-per-second 2000
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "load/load.hpp"
#include "load/report_json.hpp"
#include "tigerfans/http/client.hpp"

namespace {

using namespace tigerfans;
using nlohmann::json;

struct Cli {
    loadgen::FlowOptions flow;
    bool queue_mode = false;
    loadgen::QueueOptions queue;
    std::vector<loadgen::Phase> phases;
    std::string secret = "supersecret";
    int server_pid = 0;
    bool json_output = false;
};

constexpr const char* usage_text =
    "usage: tigerfans-load [--base URL] [--total N] [--concurrency N]\n"
    "         [--ratio-a P] [--fail-rate P] [--cancel-rate P]\n"
    "         [--poll-interval S] [--poll-timeout S] [--json]\n"
    "       tigerfans-load --phases checkout,webhook,reserve,commit,seats,seats-304,seat-holds,\n"
    "         seat-voids,healthz\n"
    "         [--secret S]\n"
    "         [--server-pid PID] ...\n"
    "       tigerfans-load --mode queue [--fans N] [--prequeue-share P] [--buyers N]\n"
    "         [--admit-per-second R] [--wait-timeout S] [--concurrency N] ...\n"
    "Flow mode (default) runs each fan's checkout, payment and status polls against the server\n"
    "at --base (default http://127.0.0.1:8000); --phases times single endpoints instead, and\n"
    "with --server-pid reports the CPU seconds that process used during each phase. Queue\n"
    "mode (the waiting room on) joins the --prequeue-share of --fans before the sale opens and\n"
    "the rest after, polls each until admitted, then --buyers of them check out with their\n"
    "admission token and pay; it reports join throughput, the admission rate against\n"
    "--admit-per-second, Kendall's tau of join order against admission order per band, and\n"
    "checkouts with missing, forged or used-up tokens, which must all be refused.\n";

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr, "tigerfans-load: %s\n%s", problem.c_str(), usage_text);
    std::exit(2);
}

double number(const std::string& flag, const char* text, double min, double max) {
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (end == text || *end != '\0' || value < min || value > max) {
        usage(flag + " needs a number in [" + std::to_string(min) + ", " + std::to_string(max) +
              "]");
    }
    return value;
}

std::vector<loadgen::Phase> parse_phases(const std::string& list) {
    const std::map<std::string, loadgen::Phase> names = {
        {"checkout", loadgen::Phase::checkout},     {"webhook", loadgen::Phase::webhook},
        {"reserve", loadgen::Phase::reserve},       {"commit", loadgen::Phase::commit},
        {"seats", loadgen::Phase::seats},           {"seats-304", loadgen::Phase::seats_304},
        {"seat-holds", loadgen::Phase::seat_holds}, {"seat-voids", loadgen::Phase::seat_voids},
        {"healthz", loadgen::Phase::healthz}};
    std::vector<loadgen::Phase> phases;
    std::size_t start = 0;
    while (start <= list.size()) {
        const std::size_t comma = std::min(list.find(',', start), list.size());
        const auto found = names.find(list.substr(start, comma - start));
        if (found == names.end()) usage("unknown phase in " + list);
        phases.push_back(found->second);
        start = comma + 1;
    }
    return phases;
}

Cli parse(int argc, char** argv) {
    Cli cli;
    auto& f = cli.flow;
    for (int i = 1; i < argc; i++) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::fputs(usage_text, stdout);
            std::exit(0);
        }
        if (flag == "--json") {
            cli.json_output = true;
            continue;
        }
        if (i + 1 >= argc) usage(flag + " needs a value");
        const char* value = argv[++i];
        if (flag == "--base") {
            const auto url = http::parse_http_url(value);
            if (!url) usage("--base must be http://host:port");
            f.target = {url->host, url->port};
        } else if (flag == "--total") {
            f.total = static_cast<int>(number(flag, value, 1, 1e8));
        } else if (flag == "--concurrency") {
            f.concurrency = static_cast<int>(number(flag, value, 1, 100000));
        } else if (flag == "--ratio-a") {
            f.ratio_a = number(flag, value, 0, 1);
        } else if (flag == "--fail-rate") {
            f.fail_rate = number(flag, value, 0, 1);
        } else if (flag == "--cancel-rate") {
            f.cancel_rate = number(flag, value, 0, 1);
        } else if (flag == "--poll-interval") {
            f.poll_interval =
                std::chrono::milliseconds(static_cast<long>(number(flag, value, 0.001, 60) * 1000));
        } else if (flag == "--poll-timeout") {
            f.poll_timeout = std::chrono::milliseconds(
                static_cast<long>(number(flag, value, 0.01, 3600) * 1000));
        } else if (flag == "--mode") {
            const std::string mode = value;
            if (mode != "flow" && mode != "queue") usage("--mode must be flow or queue");
            cli.queue_mode = mode == "queue";
        } else if (flag == "--fans") {
            cli.queue.fans = static_cast<int>(number(flag, value, 1, 1e7));
        } else if (flag == "--prequeue-share") {
            cli.queue.prequeue_share = number(flag, value, 0, 1);
        } else if (flag == "--buyers") {
            cli.queue.buyers = static_cast<int>(number(flag, value, 0, 1e7));
        } else if (flag == "--admit-per-second") {
            cli.queue.admit_per_second = number(flag, value, 1, 1e6);
        } else if (flag == "--wait-timeout") {
            cli.queue.wait_timeout =
                std::chrono::milliseconds(static_cast<long>(number(flag, value, 1, 86400) * 1000));
        } else if (flag == "--phases") {
            cli.phases = parse_phases(value);
        } else if (flag == "--secret") {
            cli.secret = value;
        } else if (flag == "--server-pid") {
            cli.server_pid = static_cast<int>(number(flag, value, 1, 4194304));
        } else {
            usage("unknown flag " + flag);
        }
    }
    if (f.fail_rate + f.cancel_rate > 1.0) usage("--fail-rate + --cancel-rate must be <= 1");
    if (cli.queue_mode && !cli.phases.empty())
        usage("--mode queue and --phases exclude each other");
    cli.queue.flow = f;
    return cli;
}

using loadgen::latency_json;

void print_flow(const Cli& cli, const loadgen::FlowReport& r) {
    using loadgen::Outcome;
    if (cli.json_output) {
        json errors = json::object();
        for (const auto& [what, count] : r.errors) errors[what] = count;
        const json out = {{"mode", "flow"},
                          {"total", r.total},
                          {"ok", r.ok},
                          {"paid", r.count(Outcome::paid)},
                          {"paid_unfulfilled", r.count(Outcome::paid_unfulfilled)},
                          {"failed", r.count(Outcome::failed)},
                          {"canceled", r.count(Outcome::canceled)},
                          {"timeout", r.count(Outcome::timeout)},
                          {"error", r.count(Outcome::error)},
                          {"errors", errors},
                          {"concurrency", cli.flow.concurrency},
                          {"wall_s", r.wall_s},
                          {"throughput_per_s", r.throughput_per_s()},
                          {"observed", latency_json(r.observed)},
                          {"end_to_end", latency_json(r.end_to_end)},
                          {"checkout", latency_json(r.checkout)}};
        std::printf("%s\n", out.dump(2).c_str());
        return;
    }
    std::printf("\n=== Load Summary ===\n");
    std::printf(
        "Total: %d   OK: %d   PAID: %d   FAILED: %d   CANCELED: %d   TIMEOUT: %d   "
        "ERROR: %d   PAID_UNFULFILLED: %d\n",
        r.total, r.ok, r.count(Outcome::paid), r.count(Outcome::failed), r.count(Outcome::canceled),
        r.count(Outcome::timeout), r.count(Outcome::error), r.count(Outcome::paid_unfulfilled));
    std::printf(
        "Latency (observed order resolution): avg %.3fs   p50 %.3fs   p90 %.3fs   "
        "p99 %.3fs\n",
        r.observed.avg_s, r.observed.p50_s, r.observed.p90_s, r.observed.p99_s);
    std::printf("Latency (checkout to settled order): avg %.4fs   p50 %.4fs   p99 %.4fs\n",
                r.end_to_end.avg_s, r.end_to_end.p50_s, r.end_to_end.p99_s);
    std::printf("Wall time: %.3fs   Throughput: %.1f ops/s\n", r.wall_s, r.throughput_per_s());
    for (const auto& [what, count] : r.errors)
        std::printf("  error x%d: %s\n", count, what.c_str());
}

void print_phases(const Cli& cli, const std::vector<loadgen::PhaseReport>& reports) {
    json out = json::array();
    for (const auto& r : reports) {
        if (!cli.json_output) {
            std::printf(
                "%-9s concurrency %5d   total %7d   ok %7d   errors %6d   wall %.3fs   "
                "%.1f ops/s   p99 %.4fs\n",
                std::string(loadgen::phase_name(r.phase)).c_str(), r.concurrency, r.total, r.ok,
                r.errors, r.wall_s, r.ops_per_s(), r.latency.p99_s);
            for (const auto& [what, count] : r.error_kinds) {
                std::printf("  error x%d: %s\n", count, what.c_str());
            }
        }
        json error_kinds = json::object();
        for (const auto& [what, count] : r.error_kinds) error_kinds[what] = count;
        out.push_back({{"phase", loadgen::phase_name(r.phase)},
                       {"concurrency", r.concurrency},
                       {"total", r.total},
                       {"ok", r.ok},
                       {"errors", r.errors},
                       {"error_kinds", error_kinds},
                       {"whole_answers", r.whole_answers},
                       {"wall_s", r.wall_s},
                       {"ops_per_s", r.ops_per_s()},
                       {"latency", latency_json(r.latency)},
                       {"server_cpu_s", r.server_cpu_s ? json(*r.server_cpu_s) : json(nullptr)}});
    }
    if (cli.json_output) std::printf("%s\n", out.dump(2).c_str());
}

std::string tau_text(const std::optional<double>& tau) {
    return tau ? std::to_string(*tau) : std::string("-");
}

void print_queue(const Cli& cli, const loadgen::QueueReport& r) {
    if (cli.json_output) {
        std::printf("%s\n", loadgen::queue_json(r).dump(2).c_str());
        return;
    }
    std::printf("\n=== Queue Summary ===\n");
    std::printf("Joins: %d / %d in %.3fs (%.0f/s); pre-queue %d, later %d, pre-queue late %d\n",
                r.joined(), r.fans, r.prequeue_joins.wall_s + r.later_joins.wall_s, r.joins_per_s(),
                r.prequeue_fans, r.later_fans, r.prequeue_late);
    std::printf("Admitted: %d (never %d, duplicate numbers %d, bands in order %s)\n", r.admitted,
                r.never_admitted, r.duplicate_seqs, r.bands_in_order ? "yes" : "NO");
    std::printf("Admission rate: %.1f/s achieved, %s configured\n",
                r.admission_rate_per_s.value_or(0),
                r.configured_per_s ? std::to_string(*r.configured_per_s).c_str() : "not");
    std::printf("Kendall's tau (join vs admission order): pre-queue %s, later %s\n",
                tau_text(r.prequeue_tau).c_str(), tau_text(r.later_tau).c_str());
    std::printf("Polls: %d (%.2f per fan), errors %d\n", r.polls.attempted,
                r.joined() > 0 ? static_cast<double>(r.polls.attempted) / r.joined() : 0.0,
                r.polls.attempted - r.polls.ok);
    std::printf("Buys: %d paid of %d; bought without a valid token: %d\n",
                r.buys.count(loadgen::Outcome::paid), r.buys.total, r.bought_without_valid_token);
    for (const auto& check : r.token_checks) {
        std::printf("  %-20s expected %-20s got %s\n", check.what.c_str(), check.expected.c_str(),
                    check.got.c_str());
    }
    for (const auto* tally : {&r.prequeue_joins, &r.later_joins, &r.polls}) {
        for (const auto& [what, count] : tally->errors) {
            std::printf("  error x%d: %s\n", count, what.c_str());
        }
    }
    for (const auto& [what, count] : r.buys.errors) {
        std::printf("  buy error x%d: %s\n", count, what.c_str());
    }
}

int run(const Cli& cli) {
    if (cli.queue_mode) {
        const loadgen::QueueReport report = loadgen::run_queue(cli.queue);
        print_queue(cli, report);
        return report.clean() ? 0 : 1;
    }
    if (!cli.phases.empty()) {
        loadgen::PhaseOptions options;
        options.target = cli.flow.target;
        options.total = cli.flow.total;
        options.concurrency = cli.flow.concurrency;
        options.webhook_secret = cli.secret;
        options.server_pid = cli.server_pid;
        const auto reports = loadgen::run_phases(options, cli.phases);
        print_phases(cli, reports);
        for (const auto& r : reports) {
            if (r.ok == 0) return 1;
        }
        return 0;
    }
    const bool live = isatty(STDERR_FILENO) && !cli.json_output;
    const auto progress = [live](int finished, int total) {
        if (live) std::fprintf(stderr, "\r%d / %d orders", finished, total);
    };
    const loadgen::FlowReport report = loadgen::run_flow(cli.flow, progress);
    if (live) std::fprintf(stderr, "\n");
    print_flow(cli, report);
    return report.count(loadgen::Outcome::error) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const Cli cli = parse(argc, argv);
    try {
        return run(cli);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "tigerfans-load: %s\n", error.what());
        return 1;
    }
}

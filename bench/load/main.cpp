// tigerfans-load: the load client. Flow mode (default) runs the fan's whole flow with the
// original demo's flags and summary; --phases runs the demo's phase benchmark instead.
//   tigerfans-load --base http://127.0.0.1:8000 --total 1000 --concurrency 100
//   tigerfans-load --phases checkout,webhook --total 5000 --concurrency 100 --secret supersecret
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "load/load.hpp"
#include "tigerfans/http/client.hpp"

namespace {

using namespace tigerfans;
using nlohmann::json;

struct Cli {
    loadgen::FlowOptions flow;
    std::vector<loadgen::Phase> phases;
    std::string secret = "supersecret";
    int server_pid = 0;
    bool json_output = false;
};

constexpr const char* usage_text =
    "usage: tigerfans-load [--base URL] [--total N] [--concurrency N]\n"
    "         [--ratio-a P] [--fail-rate P] [--cancel-rate P]\n"
    "         [--poll-interval S] [--poll-timeout S] [--json]\n"
    "       tigerfans-load --phases checkout,webhook,reserve,commit [--secret S]\n"
    "         [--server-pid PID] ...\n"
    "Flow mode (default) runs each fan's checkout, payment and status polls against the server\n"
    "at --base (default http://127.0.0.1:8000); --phases times single endpoints instead, and\n"
    "with --server-pid reports the CPU seconds that process used during each phase.\n";

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
    const std::map<std::string, loadgen::Phase> names = {{"checkout", loadgen::Phase::checkout},
                                                         {"webhook", loadgen::Phase::webhook},
                                                         {"reserve", loadgen::Phase::reserve},
                                                         {"commit", loadgen::Phase::commit}};
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
    return cli;
}

json latency_json(const loadgen::LatencySummary& s) {
    return {{"count", s.count}, {"avg_s", s.avg_s}, {"p50_s", s.p50_s},
            {"p90_s", s.p90_s}, {"p99_s", s.p99_s}, {"max_s", s.max_s}};
}

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
                       {"wall_s", r.wall_s},
                       {"ops_per_s", r.ops_per_s()},
                       {"latency", latency_json(r.latency)},
                       {"server_cpu_s", r.server_cpu_s ? json(*r.server_cpu_s) : json(nullptr)}});
    }
    if (cli.json_output) std::printf("%s\n", out.dump(2).c_str());
}

int run(const Cli& cli) {
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

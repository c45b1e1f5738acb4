// tigerfans-tb-floor: the TigerBeetle floor probe (probe.hpp) against a running replica.
//   tigerfans-tb-floor --address 127.0.0.1:3000 --cluster 0 --repetitions 50 --json floor.json
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "accounting/tigerbeetle/client.hpp"
#include "accounting/tigerbeetle/library.hpp"
#include "probe.hpp"
#include "tigerfans/core/clock.hpp"

namespace {

using namespace tigerfans;
namespace asio = boost::asio;
namespace tb = accounting::tb;
using nlohmann::json;

constexpr std::chrono::seconds first_answer_timeout{15};

struct Cli {
    std::string address = "3000";
    u128 cluster_id = 0;
    std::string library;
    std::string json_out;
    tb_floor::ProbeOptions probe;
};

constexpr const char* usage_text =
    "usage: tigerfans-tb-floor [--address ADDR] [--cluster ID] [--repetitions N]\n"
    "         [--size-transfers N] [--requests N] [--tickets N [--tickets-per-request N]]\n"
    "         [--ledger N] [--library PATH] [--json OUT]\n"
    "Times create_transfers against a running TigerBeetle replica through the server's client\n"
    "adapter: one request of 1, 10, 100, 1000 and 8189 posted transfers, --repetitions times\n"
    "each (median, p99; default 50), but a size stops at --size-transfers transfers in all\n"
    "(default 100000) unless that leaves it fewer than 50 requests; then --requests batches\n"
    "of 100 with 1, 2, 4 and 8 in flight\n"
    "(transfers/s). --tickets N measures the ticket mix instead: N requests in a row, each\n"
    "with two pending holds per ticket for --tickets-per-request tickets (default 28) and the\n"
    "posts of the request before's holds, then one that only posts (tickets/s); the ledger's\n"
    "balance must then show every hold posted. It creates two accounts on --ledger\n"
    "(default 9000, never the server's 2000). --address defaults to 3000, --cluster to 0,\n"
    "--library to $TB_CLIENT_LIB or\n"
    "tigerbeetle/lib/libtb_client.so of the source tree. 8189-transfer requests need a replica\n"
    "started with --limit-request=1MiB (tigerbeetle/start.sh does).\n";

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr, "tigerfans-tb-floor: %s\n%s", problem.c_str(), usage_text);
    std::exit(2);
}

std::uint64_t count(const std::string& flag, const char* text, std::uint64_t max) {
    const std::optional<u128> value = u128_from_decimal(text);
    if (!value || *value == 0 || *value > max) {
        usage(flag + " needs a whole number from 1 to " + std::to_string(max));
    }
    return static_cast<std::uint64_t>(*value);
}

Cli parse(int argc, char** argv) {
    Cli cli;
    bool per_request_given = false;
    const char* library = std::getenv("TB_CLIENT_LIB");
    cli.library = library != nullptr && *library != '\0' ? library
                                                         : TIGERFANS_SOURCE_DIR
                      "/tigerbeetle/lib/libtb_client.so";
    for (int i = 1; i < argc; i++) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::fputs(usage_text, stdout);
            std::exit(0);
        }
        if (i + 1 >= argc) usage("unknown flag or missing value: " + flag);
        const char* value = argv[++i];
        if (flag == "--address") {
            cli.address = value;
        } else if (flag == "--cluster") {
            const std::optional<u128> cluster = u128_from_decimal(value);
            if (!cluster) usage("--cluster needs a decimal cluster id");
            cli.cluster_id = *cluster;
        } else if (flag == "--repetitions") {
            cli.probe.repetitions = count(flag, value, 1'000'000);
        } else if (flag == "--size-transfers") {
            cli.probe.size_transfers_max = count(flag, value, 100'000'000);
        } else if (flag == "--requests") {
            cli.probe.throughput_requests = count(flag, value, 1'000'000);
        } else if (flag == "--tickets") {
            cli.probe.ticket_requests = count(flag, value, 1'000'000);
        } else if (flag == "--tickets-per-request") {
            // Two holds and two posts per ticket must fit the largest request (8,189 events).
            cli.probe.tickets_per_request = static_cast<std::uint32_t>(count(flag, value, 2'047));
        } else if (flag == "--ledger") {
            cli.probe.ledger = static_cast<std::uint32_t>(count(flag, value, UINT32_MAX));
        } else if (flag == "--library") {
            cli.library = value;
        } else if (flag == "--json") {
            cli.json_out = value;
        } else {
            usage("unknown flag " + flag);
        }
        if (flag == "--tickets-per-request") per_request_given = true;
    }
    if (per_request_given && cli.probe.ticket_requests == 0) {
        usage("--tickets-per-request needs --tickets");
    }
    return cli;
}

json latencies_json(const tb_floor::Latencies& latency) {
    return {{"median_ms", latency.median_ms},
            {"p99_ms", latency.p99_ms},
            {"min_ms", latency.min_ms},
            {"max_ms", latency.max_ms}};
}

json report_json(const Cli& cli, const tb_floor::ProbeReport& report) {
    json round_trips = json::array();
    for (const tb_floor::RoundTrip& row : report.round_trips) {
        round_trips.push_back({{"transfers", row.transfers},
                               {"requests", row.requests},
                               {"refused", row.refused},
                               {"latency", latencies_json(row.latency)}});
    }
    json throughputs = json::array();
    for (const tb_floor::Throughput& row : report.throughputs) {
        throughputs.push_back({{"in_flight", row.in_flight},
                               {"batch", row.batch},
                               {"requests", row.requests},
                               {"wall_s", row.wall_s},
                               {"transfers_per_s", row.transfers_per_s},
                               {"latency", latencies_json(row.latency)}});
    }
    json tickets = nullptr;
    if (report.tickets) {
        const tb_floor::TicketMix& mix = *report.tickets;
        tickets = {{"tickets_per_request", mix.tickets_per_request},
                   {"requests", mix.requests},
                   {"tickets", mix.tickets},
                   {"wall_s", mix.wall_s},
                   {"tickets_per_s", mix.tickets_per_s},
                   {"latency", latencies_json(mix.latency)}};
    }
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) != 3) load[0] = load[1] = load[2] = -1;
    return {{"date", iso8601_utc(unix_now_us())},
            {"address", cli.address},
            {"cluster", u128_to_decimal(cli.cluster_id)},
            {"ledger", cli.probe.ledger},
            {"repetitions", cli.probe.repetitions},
            {"size_transfers_max", cli.probe.size_transfers_max},
            {"cores", std::thread::hardware_concurrency()},
            {"load_average", {load[0], load[1], load[2]}},
            {"round_trip", round_trips},
            {"throughput", throughputs},
            {"tickets", tickets},
            {"error", report.error}};
}

void print_report(const tb_floor::ProbeReport& report) {
    if (report.tickets) {
        const tb_floor::TicketMix& mix = *report.tickets;
        std::printf("ticket mix (%u tickets per request: their holds, the previous ones' posts)\n",
                    mix.tickets_per_request);
        std::printf("%9s %9s %11s %11s %14s\n", "requests", "tickets", "median ms", "p99 ms",
                    "tickets/s");
        std::printf("%9zu %9zu %11.3f %11.3f %14.0f\n", mix.requests, mix.tickets,
                    mix.latency.median_ms, mix.latency.p99_ms, mix.tickets_per_s);
        return;
    }
    std::printf("create_transfers round trip (one request at a time)\n");
    std::printf("%10s %9s %11s %11s %14s\n", "transfers", "requests", "median ms", "p99 ms",
                "transfers/s");
    for (const tb_floor::RoundTrip& row : report.round_trips) {
        if (row.refused) {
            std::printf("%10u   refused: the replica's request limit is lower\n", row.transfers);
            continue;
        }
        const double rate =
            row.latency.median_ms > 0 ? row.transfers / row.latency.median_ms * 1e3 : 0;
        std::printf("%10u %9zu %11.3f %11.3f %14.0f\n", row.transfers, row.requests,
                    row.latency.median_ms, row.latency.p99_ms, rate);
    }
    std::printf("\nthroughput (batches of %u)\n",
                report.throughputs.empty() ? 0 : report.throughputs[0].batch);
    std::printf("%10s %9s %11s %11s %14s\n", "in flight", "requests", "median ms", "p99 ms",
                "transfers/s");
    for (const tb_floor::Throughput& row : report.throughputs) {
        std::printf("%10zu %9zu %11.3f %11.3f %14.0f\n", row.in_flight, row.requests,
                    row.latency.median_ms, row.latency.p99_ms, row.transfers_per_s);
    }
}

bool write_json(const std::string& path, const json& document) {
    std::ofstream out(path);
    out << document.dump(1) << '\n';
    return static_cast<bool>(out);
}

int run(Cli cli) {
    std::string error;
    const tb::Library* library = tb::load_library(cli.library, error);
    if (library == nullptr) {
        std::fprintf(stderr, "tigerfans-tb-floor: %s\n", error.c_str());
        return 1;
    }
    asio::io_context io;
    tb::Client client(io.get_executor(), *library, tb::ClientOptions{cli.address, cli.cluster_id});
    if (!client.open()) return 1;  // The adapter logged why.
    // The cluster never times a request out: no answer at all means nobody listens there.
    asio::steady_timer watchdog(io, first_answer_timeout);
    bool timed_out = false;
    watchdog.async_wait([&](boost::system::error_code cancelled) {
        timed_out = !cancelled;
        if (timed_out) io.stop();
    });
    cli.probe.on_first_answer = [&watchdog] { watchdog.cancel(); };
    tb_floor::ProbeReport report;
    asio::co_spawn(io, tb_floor::run_probe(client, cli.probe),
                   [&report](std::exception_ptr thrown, tb_floor::ProbeReport done) {
                       if (thrown) std::rethrow_exception(thrown);
                       report = std::move(done);
                   });
    io.run();
    client.close();
    if (timed_out) {
        std::fprintf(stderr, "tigerfans-tb-floor: no answer from TigerBeetle at %s within %lld s\n",
                     cli.address.c_str(), static_cast<long long>(first_answer_timeout.count()));
        return 1;
    }
    print_report(report);
    if (!cli.json_out.empty() && !write_json(cli.json_out, report_json(cli, report))) {
        std::fprintf(stderr, "tigerfans-tb-floor: cannot write %s\n", cli.json_out.c_str());
        return 1;
    }
    if (report.error.empty()) return 0;
    std::fprintf(stderr, "tigerfans-tb-floor: %s\n", report.error.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("tb-floor"));
    return run(parse(argc, argv));
}

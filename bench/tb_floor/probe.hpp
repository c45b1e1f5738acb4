// The TigerBeetle floor: what create_transfers costs through the server's own client adapter
// (accounting/tigerbeetle/client.hpp) with nothing of the server around it. The probe creates
// two accounts on a ledger of its own (never the server's 2000) and posts transfers of 1 from
// one to the other: the round trip of one request per batch size, then the throughput of
// batches of 100 with 1 to 8 requests in flight. Apart from those, the ticket mix: what the
// server's flow asks of the ledger, two pending holds per ticket and, a request later, their
// two posts, one request in flight, sustained for as many requests as asked.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "accounting/tigerbeetle/client.hpp"

namespace tigerfans::tb_floor {

struct ProbeOptions {
    std::uint32_t ledger = 9'000;
    std::size_t repetitions = 50;  // Requests timed per batch size, at most (see below).
    // A batch size's requests stop at this many transfers in all, though never below
    // `repetitions_min` requests: small sizes get enough requests for a p99 that sees the
    // replica's compaction, large ones do not fill the ledger before the load.
    std::uint64_t size_transfers_max = 100'000;
    std::vector<std::uint32_t> batch_sizes = {1, 10, 100, 1'000, 8'189};
    std::uint32_t throughput_batch = 100;
    std::vector<std::size_t> in_flight = {1, 2, 4, 8};
    std::size_t throughput_requests = 400;  // Requests per in-flight level.
    std::function<void()> on_first_answer;  // Called once the cluster answered.
    // Requests of the ticket mix; not zero runs the mix alone, without the sections above.
    std::size_t ticket_requests = 0;
    std::uint32_t tickets_per_request = 28;  // 112 transfers: about the flow's at 300 fans.
};

inline constexpr std::size_t repetitions_min = 50;

// Requests timed for `transfers` per request: `repetitions`, fewer for a large size.
std::size_t requests_for(const ProbeOptions& options, std::uint32_t transfers);

// Milliseconds per request, nearest rank.
struct Latencies {
    double median_ms = 0;
    double p99_ms = 0;
    double min_ms = 0;
    double max_ms = 0;
};

struct RoundTrip {
    std::uint32_t transfers = 0;
    std::size_t requests = 0;
    Latencies latency;
    bool refused = false;  // TOO_MUCH_DATA: the replica's request limit is below this batch.
};

struct Throughput {
    std::size_t in_flight = 0;
    std::uint32_t batch = 0;
    std::size_t requests = 0;
    double wall_s = 0;
    double transfers_per_s = 0;
    Latencies latency;
};

struct TicketMix {
    std::uint32_t tickets_per_request = 0;
    std::size_t requests = 0;  // Each with its tickets' holds and the previous ones' posts.
    std::size_t tickets = 0;   // Held and posted.
    double wall_s = 0;
    double tickets_per_s = 0;
    Latencies latency;
};

struct ProbeReport {
    std::vector<RoundTrip> round_trips;
    std::vector<Throughput> throughputs;
    std::optional<TicketMix> tickets;
    std::string error;  // Empty when every request was answered and every transfer created.
};

// Runs the probe on the client's loop; the client must be open.
boost::asio::awaitable<ProbeReport> run_probe(accounting::tb::Client& client, ProbeOptions options);

}  // namespace tigerfans::tb_floor

// The demo's phase benchmark: each store path measured on its own, as successful requests per
// second of the phase's wall time. checkout creates the sessions that webhook then settles
// with signed events posted directly; reserve creates the holds that commit then posts; seats
// reads the seat map whole (as browsers do, accepting gzip) and seats-304 polls it with the tag
// seats got; seat-holds holds 4 seats together at a time (the isolated seat call) and seat-voids
// frees them again; healthz asks GET /healthz (the server's cheapest answer, which still asks
// each store whether it is up) and times tigerfans-http-floor the same way.
#include <random>

#include "load/json_fields.hpp"
#include "load/load.hpp"
#include "load/process_cpu.hpp"
#include "load/runner.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/gzip.hpp"
#include "tigerfans/mockpay/event.hpp"

namespace tigerfans::loadgen {

namespace {
using Clock = std::chrono::steady_clock;

struct Created {
    std::string first;   // psid, or the ticket transfer id
    std::string second;  // order id, the goodie transfer id, or the seat map's last checked body
    std::int64_t amount_cents = 0;
};

// What a phase needs: to prepare the request of call i on a connection, and what a good
// answer leaves behind.
struct PhaseSpec {
    std::function<void(Connection&, int)> prepare;
    std::function<bool(const Reply&, std::vector<Created>&)> accept;
};

// "HTTP 503", "timeout", ...; a 200 whose body lacks what the phase needs says so.
void record_error(PhaseReport& report, const Reply& reply) {
    report.errors++;
    const bool unreadable = reply.ok() && reply.status == 200;
    report.error_kinds[unreadable ? "HTTP 200 without the expected fields" : reply.describe()]++;
}

std::optional<double> server_cpu_seconds(const PhaseOptions& options) {
    if (options.server_pid <= 0) return std::nullopt;
    return process_cpu_seconds(options.server_pid);
}

PhaseReport measure(const PhaseOptions& options, Phase phase, int total, const PhaseSpec& spec,
                    std::vector<Created>& created) {
    asio::io_context io(1);
    const RunOptions run_options{resolve(options.target), total, options.concurrency,
                                 options.request_timeout};
    PhaseReport report{phase, options.concurrency, total};
    std::vector<double> latencies;
    latencies.reserve(static_cast<std::size_t>(total));
    const auto call = [&](int index, Connection& connection) -> asio::awaitable<void> {
        spec.prepare(connection, index);
        const auto started = Clock::now();
        const Reply reply = co_await connection.exchange();
        const auto finished = Clock::now();
        if (!reply.ok() || !spec.accept(reply, created)) {
            record_error(report, reply);
            co_return;
        }
        report.ok++;
        latencies.push_back(std::chrono::duration<double>(finished - started).count());
    };
    const auto cpu_before = server_cpu_seconds(options);
    report.wall_s = run_calls(io, run_options, call);
    const auto cpu_after = server_cpu_seconds(options);
    if (cpu_before && cpu_after) report.server_cpu_s = *cpu_after - *cpu_before;
    report.latency = summarize(std::move(latencies));
    return report;
}

std::string checkout_body(int index) {
    return std::string(R"({"cls":")") + (index % 2 == 0 ? "A" : "B") +
           R"(","customer_email":"user)" + std::to_string(index) + R"(@example.com"})";
}

PhaseSpec checkout_spec() {
    return {[](Connection& connection, int index) {
                const std::string body = checkout_body(index);
                connection.prepare("POST", "/api/checkout", {{"Content-Type", "application/json"}},
                                   body);
            },
            [](const Reply& reply, std::vector<Created>& created) {
                if (reply.status != 200) return false;
                const auto redirect = json_string_member(reply.body, "redirect_url");
                const auto order_id = json_string_member(reply.body, "order_id");
                const auto amount = json_integer_member(reply.body, "amount");
                if (!redirect || !order_id || !amount) return false;
                created.push_back({std::string(redirect->substr(redirect->rfind('/') + 1)),
                                   std::string(*order_id), *amount});
                return true;
            }};
}

PhaseSpec webhook_spec(const PhaseOptions& options, const std::vector<Created>& sessions) {
    return {[&options, &sessions](Connection& connection, int index) {
                const Created& made = sessions[static_cast<std::size_t>(index)];
                mockpay::PaymentEvent event;
                event.outcome = (index % 1000) < options.succeed_rate * 1000
                                    ? mockpay::PaymentOutcome::succeeded
                                    : mockpay::PaymentOutcome::failed;
                event.payment_session_id = made.first;
                event.order_id = made.second;
                event.amount_cents = made.amount_cents;
                event.currency = "eur";
                event.idempotency_key = new_event_key();
                const std::string body = mockpay::event_json(event);
                const std::string signature = mockpay::signature(options.webhook_secret, body);
                connection.prepare(
                    "POST", "/payments/webhook",
                    {{"Content-Type", "application/json"}, {mockpay::signature_header, signature}},
                    body);
            },
            [](const Reply& reply, std::vector<Created>&) { return reply.status == 200; }};
}

PhaseSpec reserve_spec() {
    return {
        [](Connection& connection, int) { connection.prepare("GET", "/api/accounting/reserve"); },
        [](const Reply& reply, std::vector<Created>& created) {
            if (reply.status != 200) return false;
            const auto ticket = json_string_member(reply.body, "tb_transfer_id");
            const auto goodie = json_string_member(reply.body, "goodie_tb_transfer_id");
            if (!ticket || !goodie) return false;
            created.push_back({std::string(*ticket), std::string(*goodie), 0});
            return true;
        }};
}

PhaseSpec commit_spec(const std::vector<Created>& holds) {
    return {[&holds](Connection& connection, int index) {
                const Created& hold = holds[static_cast<std::size_t>(index)];
                const std::string target = "/api/accounting/commit?tb_transfer_id=" + hold.first +
                                           "&goodie_tb_transfer_id=" + hold.second;
                connection.prepare("GET", target);
            },
            [](const Reply& reply, std::vector<Created>&) { return reply.status == 200; }};
}
// The map's tag as its body carries it: a JSON string holding a quoted tag, `"\"hex\""`.
std::optional<std::string> body_etag(std::string_view body) {
    const auto raw = json_member(body, "etag");
    if (!raw || raw->size() < 6 || raw->substr(0, 3) != "\"\\\"" ||
        raw->substr(raw->size() - 3) != "\\\"\"") {
        return std::nullopt;
    }
    return "\"" + std::string(raw->substr(3, raw->size() - 6)) + "\"";
}

// Whether `body` is a seat map: its states and its tag, or the same in gzip.
std::optional<std::string> seat_map_etag(std::string_view body) {
    if (!body.starts_with('{')) {
        const auto inflated = http::gunzip(body, limits::http_client_response_bytes_max);
        if (!inflated) return std::nullopt;
        return seat_map_etag(*inflated);
    }
    if (!json_string_member(body, "states")) return std::nullopt;
    return body_etag(body);
}

// The seat map as a browser first reads it: the whole body, asking for gzip as browsers do.
// Keeps the last body it checked and its tag: an answer of the same bytes is that map again,
// any other is inflated and checked (so the client does not spend the machine's cores
// inflating the same map over and over). A map that changed during the phase (a first answer
// served from a snapshot a refresh then replaced) leaves the tag of the last changed answer to
// arrive, almost always the newer map's, as a browser's next poll would hold.
PhaseSpec seats_spec() {
    return {[](Connection& connection, int) {
                connection.prepare("GET", "/api/seats", {{"Accept-Encoding", "gzip"}});
            },
            [](const Reply& reply, std::vector<Created>& created) {
                if (reply.status != 200) return false;
                if (!created.empty() && reply.body == created.front().second) return true;
                const auto etag = seat_map_etag(reply.body);
                if (!etag) return false;
                if (created.empty()) created.emplace_back();
                created.front().first = *etag;
                created.front().second = reply.body;
                return true;
            }};
}

// The seat map as a browser polls it, with the tag it holds: 304 while no seat changed. A map
// that changed since (the server refreshes it behind its readers, so the last holds of the
// phases before may land in it now) comes whole, and from then on the polls carry its tag, as
// a browser's would; each such answer is kept in `created`, so the report counts them. A whole
// answer with the tag the phase began with is an error: the poll's tag was not honoured.
PhaseSpec seats_304_spec(std::vector<Created>& tags) {
    return {[&tags](Connection& connection, int) {
                connection.prepare("GET", "/api/seats", {{"If-None-Match", tags.front().first}});
            },
            [&tags, first = tags.front().first](const Reply& reply, std::vector<Created>& created) {
                if (reply.status == 304) return true;
                if (reply.status != 200) return false;
                const auto etag = seat_map_etag(reply.body);
                if (!etag || *etag == first) return false;
                tags.front().first = *etag;
                created.push_back({*etag, {}, 0});
                return true;
            }};
}

// Holds of 4 seats together, each a linked chain in the ledger; keeps the seats and holds.
PhaseSpec seat_holds_spec() {
    return {[](Connection& connection, int) {
                connection.prepare("GET", "/api/accounting/seats/hold");
            },
            [](const Reply& reply, std::vector<Created>& created) {
                if (reply.status != 200) return false;
                const auto seats = json_string_member(reply.body, "seats");
                const auto holds = json_string_member(reply.body, "holds");
                if (!seats || !holds) return false;
                created.push_back({std::string(*seats), std::string(*holds), 0});
                return true;
            }};
}

PhaseSpec seat_voids_spec(const std::vector<Created>& holds) {
    return {[&holds](Connection& connection, int index) {
                const Created& hold = holds[static_cast<std::size_t>(index)];
                connection.prepare("GET", "/api/accounting/seats/void?seats=" + hold.first +
                                              "&holds=" + hold.second);
            },
            [](const Reply& reply, std::vector<Created>&) { return reply.status == 200; }};
}

PhaseSpec healthz_spec() {
    return {[](Connection& connection, int) { connection.prepare("GET", "/healthz"); },
            [](const Reply& reply, std::vector<Created>&) { return reply.status == 200; }};
}
}  // namespace

std::string_view phase_name(Phase phase) {
    switch (phase) {
        case Phase::checkout: return "checkout";
        case Phase::webhook: return "webhook";
        case Phase::reserve: return "reserve";
        case Phase::commit: return "commit";
        case Phase::seats: return "seats";
        case Phase::seats_304: return "seats-304";
        case Phase::seat_holds: return "seat-holds";
        case Phase::seat_voids: return "seat-voids";
        case Phase::healthz: return "healthz";
    }
    return "unknown";
}

std::vector<PhaseReport> run_phases(const PhaseOptions& options, const std::vector<Phase>& phases) {
    std::vector<PhaseReport> reports;
    std::vector<Created> sessions, holds, tags, seat_holds, ignored;
    for (Phase phase : phases) {
        switch (phase) {
            case Phase::checkout:
                sessions.clear();
                reports.push_back(
                    measure(options, phase, options.total, checkout_spec(), sessions));
                break;
            case Phase::webhook:
                reports.push_back(measure(options, phase, static_cast<int>(sessions.size()),
                                          webhook_spec(options, sessions), ignored));
                break;
            case Phase::reserve:
                holds.clear();
                reports.push_back(measure(options, phase, options.total, reserve_spec(), holds));
                break;
            case Phase::commit:
                reports.push_back(measure(options, phase, static_cast<int>(holds.size()),
                                          commit_spec(holds), ignored));
                break;
            case Phase::seats:
                tags.clear();
                reports.push_back(measure(options, phase, options.total, seats_spec(), tags));
                break;
            case Phase::seats_304: {
                // Without a tag from a seats phase before it there is nothing to send.
                std::vector<Created> changed;
                reports.push_back(tags.empty() ? measure(options, phase, 0, seats_spec(), ignored)
                                               : measure(options, phase, options.total,
                                                         seats_304_spec(tags), changed));
                reports.back().whole_answers = static_cast<int>(changed.size());
                break;
            }
            case Phase::seat_holds:
                seat_holds.clear();
                reports.push_back(measure(options, phase,
                                          std::min(options.total, seat_holds_total_max),
                                          seat_holds_spec(), seat_holds));
                break;
            case Phase::seat_voids:
                reports.push_back(measure(options, phase, static_cast<int>(seat_holds.size()),
                                          seat_voids_spec(seat_holds), ignored));
                break;
            case Phase::healthz:
                reports.push_back(measure(options, phase, options.total, healthz_spec(), ignored));
                break;
        }
    }
    return reports;
}

}  // namespace tigerfans::loadgen

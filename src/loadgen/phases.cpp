// The demo's phase benchmark: each store path measured on its own, as successful requests per
// second of the phase's wall time. checkout creates the sessions that webhook then settles
// with signed events posted directly; reserve creates the holds that commit then posts.
#include <nlohmann/json.hpp>
#include <random>

#include "loadgen/runner.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/mockpay/mockpay.hpp"
#include "tigerfans/loadgen/load.hpp"

namespace tigerfans::loadgen {

namespace {
using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Created {
    std::string first;   // psid, or the ticket transfer id
    std::string second;  // order id, or the goodie transfer id
    std::int64_t amount_cents = 0;
};

// What a phase needs: the request of call i, and what a good answer leaves behind.
struct PhaseSpec {
    std::function<asio::awaitable<Result<http::ClientResponse>>(http::Client&, int)> request;
    std::function<bool(const http::ClientResponse&, std::vector<Created>&)> accept;
};

PhaseReport measure(const PhaseOptions& options, Phase phase, int total, const PhaseSpec& spec,
                    std::vector<Created>& created) {
    asio::io_context io(1);
    http::Client client(io.get_executor(), options.target.host, options.target.port,
                        http::ClientOptions{static_cast<std::size_t>(options.concurrency),
                                            options.request_timeout});
    PhaseReport report{phase, options.concurrency, total};
    std::vector<double> latencies;
    const auto call = [&](int index) -> asio::awaitable<void> {
        const auto started = Clock::now();
        auto reply = co_await spec.request(client, index);
        const bool ok = reply && spec.accept(*reply, created);
        report.ok += ok;
        report.errors += !ok;
        if (ok) latencies.push_back(std::chrono::duration<double>(Clock::now() - started).count());
    };
    report.wall_s = run_calls(io, total, options.concurrency, call);
    report.latency = summarize(std::move(latencies));
    return report;
}

PhaseSpec checkout_spec() {
    return {[](http::Client& client, int index) {
                const json body = {{"cls", index % 2 == 0 ? "A" : "B"},
                                   {"customer_email", "user" + std::to_string(index) + "@example.com"}};
                return client.request(http::Method::post, "/api/checkout", body.dump(),
                                      {{"Content-Type", "application/json"}});
            },
            [](const http::ClientResponse& reply, std::vector<Created>& created) {
                if (reply.status != 200) return false;
                const json body = json::parse(reply.body, nullptr, false);
                if (!body.is_object()) return false;
                const std::string redirect = body.value("redirect_url", "");
                created.push_back({redirect.substr(redirect.rfind('/') + 1),
                                   body.value("order_id", ""), body.value("amount", 0)});
                return true;
            }};
}

PhaseSpec webhook_spec(const PhaseOptions& options, const std::vector<Created>& sessions) {
    return {[&options, &sessions](http::Client& client, int index) {
                const Created& made = sessions[static_cast<std::size_t>(index)];
                sessions::PaymentSession session;
                session.psid = made.first;
                session.order_id = made.second;
                session.amount_cents = made.amount_cents;
                session.currency = "eur";
                const auto outcome = (index % 1000) < options.succeed_rate * 1000
                                         ? flows::PaymentOutcome::succeeded
                                         : flows::PaymentOutcome::failed;
                std::string body = mockpay::event_json(session, outcome, new_event_key(), 0);
                std::string signature = mockpay::signature(options.webhook_secret, body);
                return client.request(http::Method::post, "/payments/webhook", std::move(body),
                                      {{"Content-Type", "application/json"},
                                       {"x-mockpay-signature", std::move(signature)}});
            },
            [](const http::ClientResponse& reply, std::vector<Created>&) {
                return reply.status == 200;
            }};
}

PhaseSpec reserve_spec() {
    return {[](http::Client& client, int) {
                return client.request(http::Method::get, "/api/accounting/reserve");
            },
            [](const http::ClientResponse& reply, std::vector<Created>& created) {
                if (reply.status != 200) return false;
                const json body = json::parse(reply.body, nullptr, false);
                if (!body.is_object()) return false;
                created.push_back({body.value("tb_transfer_id", ""),
                                   body.value("goodie_tb_transfer_id", ""), 0});
                return true;
            }};
}

PhaseSpec commit_spec(const std::vector<Created>& holds) {
    return {[&holds](http::Client& client, int index) {
                const Created& hold = holds[static_cast<std::size_t>(index)];
                return client.request(http::Method::get,
                                      "/api/accounting/commit?tb_transfer_id=" + hold.first +
                                          "&goodie_tb_transfer_id=" + hold.second);
            },
            [](const http::ClientResponse& reply, std::vector<Created>&) {
                return reply.status == 200;
            }};
}
}  // namespace

std::string_view phase_name(Phase phase) {
    switch (phase) {
        case Phase::checkout: return "checkout";
        case Phase::webhook: return "webhook";
        case Phase::reserve: return "reserve";
        case Phase::commit: return "commit";
    }
    return "unknown";
}

std::vector<PhaseReport> run_phases(const PhaseOptions& options, const std::vector<Phase>& phases) {
    std::vector<PhaseReport> reports;
    std::vector<Created> sessions, holds, ignored;
    for (Phase phase : phases) {
        switch (phase) {
            case Phase::checkout:
                sessions.clear();
                reports.push_back(measure(options, phase, options.total, checkout_spec(), sessions));
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
        }
    }
    return reports;
}

}  // namespace tigerfans::loadgen

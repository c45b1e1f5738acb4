// The fan's flow under load: each virtual user checks out, pays (or fails, or cancels) on
// MockPay, then polls its order until it is settled.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "load/json_fields.hpp"
#include "load/load.hpp"
#include "load/order.hpp"
#include "load/runner.hpp"

namespace tigerfans::loadgen {

namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::optional<Outcome> settled(std::string_view status) {
    if (status == "PAID") return Outcome::paid;
    if (status == "PAID_UNFULFILLED") return Outcome::paid_unfulfilled;
    if (status == "FAILED") return Outcome::failed;
    if (status == "CANCELED") return Outcome::canceled;
    return std::nullopt;
}

std::string step_error(std::string_view step, const Reply& reply) {
    return std::string(step) + ": " + reply.describe();
}

// Polls GET /api/orders/<id> until the order is settled or the poll timeout passes.
asio::awaitable<std::optional<Outcome>> poll_order(Connection& connection, const std::string& id,
                                                   const FlowOptions& options) {
    const auto deadline = Clock::now() + options.poll_timeout;
    const std::string target = "/api/orders/" + id;
    asio::steady_timer pause(co_await asio::this_coro::executor);
    while (Clock::now() < deadline) {
        connection.prepare("GET", target);
        const Reply reply = co_await connection.exchange();
        if (reply.ok() && reply.status == 200) {
            const auto status = json_string_member(reply.body, "status");
            if (auto outcome = settled(status.value_or(""))) co_return outcome;
        }
        pause.expires_after(options.poll_interval);
        co_await pause.async_wait(asio::use_awaitable);
    }
    co_return std::nullopt;
}

// The order id and the MockPay session id of a good checkout answer; empty when it is bad.
std::pair<std::string, std::string> checkout_ids(const Reply& reply) {
    const auto order_id = json_string_member(reply.body, "order_id");
    const auto redirect = json_string_member(reply.body, "redirect_url");
    const std::size_t slash = redirect ? redirect->rfind('/') : std::string_view::npos;
    if (!order_id || order_id->empty() || slash == std::string_view::npos ||
        slash + 1 == redirect->size()) {
        return {};
    }
    return {std::string(*order_id), std::string(redirect->substr(slash + 1))};
}

}  // namespace

void prepare_checkout(Connection& connection, std::string_view body,
                      std::string_view admission_token) {
    if (admission_token.empty()) {
        connection.prepare("POST", "/api/checkout", {{"Content-Type", "application/json"}}, body);
        return;
    }
    connection.prepare("POST", "/api/checkout",
                       {{"Content-Type", "application/json"}, {"Admission-Token", admission_token}},
                       body);
}

std::string checkout_body(std::string_view cls, int index) {
    return R"({"cls":")" + std::string(cls) + R"(","customer_email":"fan)" + std::to_string(index) +
           R"(@example.com"})";
}

asio::awaitable<OrderRun> one_order(Connection& connection, const FlowOptions& options,
                                    std::string_view cls, std::string_view kind, int index,
                                    std::string_view admission_token) {
    OrderRun run;
    const auto started = Clock::now();
    const std::string body = checkout_body(cls, index);
    prepare_checkout(connection, body, admission_token);
    const Reply checkout = co_await connection.exchange();
    if (!checkout.ok() || checkout.status != 200) {
        run.error = step_error("checkout", checkout);
        co_return run;
    }
    run.checkout_s = seconds_since(started);
    const auto [order_id, psid] = checkout_ids(checkout);
    if (order_id.empty()) {
        run.error = "checkout: bad answer";
        co_return run;
    }
    run.checked_out = true;
    const auto emitted_at = Clock::now();
    const std::string target = "/mockpay/" + psid + "/emit";
    const std::string form = "t=" + std::string(kind);
    connection.prepare("POST", target, {{"Content-Type", "application/x-www-form-urlencoded"}},
                       form);
    const Reply emit = co_await connection.exchange();
    if (!emit.ok() || emit.status >= 400) {
        run.error = step_error("emit", emit);
        co_return run;
    }
    const auto outcome = co_await poll_order(connection, order_id, options);
    run.outcome = outcome.value_or(Outcome::timeout);
    run.observed_s = seconds_since(emitted_at);
    run.end_to_end_s = seconds_since(started);
    co_return run;
}

void OrderSamples::record(FlowReport& report, const OrderRun& run) {
    report.outcomes[run.outcome]++;
    if (run.outcome == Outcome::error) {
        report.errors[run.error]++;
        return;
    }
    report.ok++;
    checkout.push_back(run.checkout_s);
    if (run.outcome == Outcome::timeout) return;
    observed.push_back(run.observed_s);
    end_to_end.push_back(run.end_to_end_s);
}

void OrderSamples::summarize_into(FlowReport& report) {
    report.observed = summarize(std::move(observed));
    report.end_to_end = summarize(std::move(end_to_end));
    report.checkout = summarize(std::move(checkout));
}

int FlowReport::count(Outcome outcome) const {
    const auto found = outcomes.find(outcome);
    return found == outcomes.end() ? 0 : found->second;
}

FlowReport run_flow(const FlowOptions& options, const Progress& progress) {
    asio::io_context io(1);
    const RunOptions run_options{resolve(options.target), options.total, options.concurrency,
                                 options.request_timeout};
    std::mt19937_64 random(std::random_device{}());
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    FlowReport report;
    report.total = options.total;
    OrderSamples samples;

    const auto call = [&](int index, Connection& connection) -> asio::awaitable<void> {
        const std::string_view cls = unit(random) < options.ratio_a ? "A" : "B";
        const double roll = unit(random);
        const std::string_view kind = roll < options.fail_rate ? "failed"
                                      : roll < options.fail_rate + options.cancel_rate
                                          ? "canceled"
                                          : "succeeded";
        const OrderRun run = co_await one_order(connection, options, cls, kind, index);
        samples.record(report, run);
    };
    report.wall_s = run_calls(io, run_options, call, progress);
    samples.summarize_into(report);
    return report;
}

LatencySummary summarize(std::vector<double> seconds) {
    LatencySummary summary;
    summary.count = seconds.size();
    if (seconds.empty()) return summary;
    std::sort(seconds.begin(), seconds.end());
    const auto at = [&](double p) {
        const double rank = p / 100.0 * static_cast<double>(seconds.size() - 1);
        return seconds[static_cast<std::size_t>(std::lround(rank))];
    };
    double sum = 0;
    for (double value : seconds) sum += value;
    summary.avg_s = sum / static_cast<double>(seconds.size());
    summary.p50_s = at(50);
    summary.p90_s = at(90);
    summary.p99_s = at(99);
    summary.max_s = seconds.back();
    return summary;
}

}  // namespace tigerfans::loadgen

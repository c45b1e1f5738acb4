// One fan's order as the flow and the queue mode run it: checkout (with an admission token
// when the waiting room asks for one), the payment outcome emitted on MockPay, then polls of
// the order until it is settled.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "load/connection.hpp"
#include "load/load.hpp"

namespace tigerfans::loadgen {

struct OrderRun {
    Outcome outcome = Outcome::error;
    std::string error;  // What went wrong when the outcome is an error, e.g. "checkout: HTTP 503".
    bool checked_out = false;  // Checkout answered with an order.
    double checkout_s = 0;
    double observed_s = 0;
    double end_to_end_s = 0;
};

// `cls` is "A" or "B", `kind` MockPay's outcome ("succeeded", "failed", "canceled"); `index`
// names the fan's email address. An empty `admission_token` sends no Admission-Token header.
asio::awaitable<OrderRun> one_order(Connection& connection, const FlowOptions& options,
                                    std::string_view cls, std::string_view kind, int index,
                                    std::string_view admission_token = {});

// The latencies of finished orders, gathered as they finish and summarized into a FlowReport.
struct OrderSamples {
    std::vector<double> observed, end_to_end, checkout;
    // Counts `run`'s outcome (and its error) in `report` and keeps its latencies.
    void record(FlowReport& report, const OrderRun& run);
    // Puts the summaries of the latencies into `report`.
    void summarize_into(FlowReport& report);
};

// Prepares POST /api/checkout with `body`, and the Admission-Token header unless the token is
// empty.
void prepare_checkout(Connection& connection, std::string_view body,
                      std::string_view admission_token);

// The JSON body of fan `index`'s checkout for class `cls`.
std::string checkout_body(std::string_view cls, int index);

}  // namespace tigerfans::loadgen

// The load client's JSON reports (see report_json.hpp).
#include "load/report_json.hpp"

namespace tigerfans::loadgen {

namespace {

using nlohmann::json;

template <typename T>
json optional_json(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
}

json counts_json(const std::map<std::string, int>& counts) {
    json out = json::object();
    for (const auto& [what, count] : counts) out[what] = count;
    return out;
}

}  // namespace

json latency_json(const LatencySummary& s) {
    return {{"count", s.count}, {"avg_s", s.avg_s}, {"p50_s", s.p50_s},
            {"p90_s", s.p90_s}, {"p99_s", s.p99_s}, {"max_s", s.max_s}};
}

json tally_json(const Tally& tally) {
    return {{"count", tally.attempted},
            {"ok", tally.ok},
            {"errors", counts_json(tally.errors)},
            {"wall_s", tally.wall_s},
            {"ok_per_s", tally.ok_per_s()},
            {"latency", latency_json(tally.latency)}};
}

json queue_json(const QueueReport& r) {
    json checks = json::array();
    for (const TokenCheck& check : r.token_checks) {
        checks.push_back({{"what", check.what},
                          {"expected", check.expected},
                          {"got", check.got},
                          {"bought", check.bought},
                          {"as_expected", check.as_expected()}});
    }
    const FlowReport& b = r.buys;
    return {
        {"mode", "queue"},
        {"total", r.fans},
        {"fans", r.fans},
        {"concurrency", r.concurrency},
        {"joins",
         {{"ok", r.joined()},
          {"per_s", r.joins_per_s()},
          {"wall_s", r.prequeue_joins.wall_s + r.later_joins.wall_s},
          {"prequeue", tally_json(r.prequeue_joins)},
          {"later", tally_json(r.later_joins)},
          {"sale_opens_in_s", optional_json(r.sale_opens_in_s)}}},
        {"admission",
         {{"admitted", r.admitted},
          {"never_admitted", r.never_admitted},
          {"duplicate_seqs", r.duplicate_seqs},
          {"bands_in_order", r.bands_in_order},
          {"first_at_ms", r.first_admitted_at_ms},
          {"last_at_ms", r.last_admitted_at_ms},
          {"rate_per_s", optional_json(r.admission_rate_per_s)},
          {"configured_per_s", optional_json(r.configured_per_s)},
          {"rate_error", optional_json(r.rate_error())}}},
        {"fairness",
         {{"prequeue_fans", r.prequeue_fans},
          {"later_fans", r.later_fans},
          {"prequeue_late", r.prequeue_late},
          {"prequeue_tau", optional_json(r.prequeue_tau)},
          {"later_tau", optional_json(r.later_tau)}}},
        {"polls",
         {{"total", r.polls.attempted},
          {"per_fan", r.joined() > 0 ? static_cast<double>(r.polls.attempted) / r.joined() : 0.0},
          {"ok", r.polls.ok},
          {"errors", counts_json(r.polls.errors)},
          {"wall_s", r.polls.wall_s},
          {"latency", latency_json(r.polls.latency)}}},
        {"buys",
         {{"total", b.total},
          {"paid", b.count(Outcome::paid)},
          {"paid_unfulfilled", b.count(Outcome::paid_unfulfilled)},
          {"timeout", b.count(Outcome::timeout)},
          {"error", b.count(Outcome::error)},
          {"errors", counts_json(b.errors)},
          {"wall_s", b.wall_s},
          {"end_to_end", latency_json(b.end_to_end)}}},
        {"tokens",
         {{"tickets_per_admission", r.token_tickets},
          {"extra_checkouts_ok", r.extra_checkouts_ok},
          {"checks", checks},
          {"bought_without_valid_token", r.bought_without_valid_token}}},
        {"wall_s", r.wall_s},
        {"clean", r.clean()}};
}

}  // namespace tigerfans::loadgen

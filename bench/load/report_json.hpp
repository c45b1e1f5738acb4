// The load client's reports as the JSON that bench/run_bench.py reads (tigerfans-load --json).
#pragma once

#include <nlohmann/json.hpp>

#include "load/load.hpp"

namespace tigerfans::loadgen {

nlohmann::json latency_json(const LatencySummary& summary);

// {"count", "ok", "errors": {what: n}, "wall_s", "ok_per_s", "latency"}.
nlohmann::json tally_json(const Tally& tally);

// The queue run: joins (per phase and together), admissions (rate achieved and configured),
// fairness (tau per band), polls, buys, the refused checkouts and `clean`.
nlohmann::json queue_json(const QueueReport& report);

}  // namespace tigerfans::loadgen

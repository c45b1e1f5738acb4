#!/usr/bin/python3
"""Level 3 against its speed targets, from one recorded benchmark result (bench/run_bench.py's
JSON): `make bench-targets R=<results.json>`. `make bench` ends its summary with the same table.

The targets, each judged on this one result:
- level 3 the fastest level of every phase at concurrency 30 and above (means over the repeats),
  and of the full flow at every flow concurrency;
- a level-3 flow of at least 4,000 tickets/s at 100 or 300 fans, every order paid, no errors;
- a level-3 flow at 100 or 300 fans with at most 100 µs of server CPU per ticket;
- the level-3 flow's p99 at 100 fans at most 20 ms or, where the replica's own p99 at the
  flow's request size is above 20 ms, at most 1.5 times that p99 (the TigerBeetle floor of the
  same result, at the smallest size it timed that holds the flow's mean request);
- reserve and commit at 30,000 ops/s or more at concurrency 1000, checkout at 20,000 and the
  webhook at 10,000 at concurrency 300 (level 3, means over the repeats).

A target is "met", "not met", or "not measured" when the result lacks what it needs (no level 3,
no other level, no flow, no floor). Standard library only.

Exit code 0 when the table was printed, 2 when the file is missing or is not a benchmark result.
"""

import argparse
import sys

from compare import Unreadable, load  # Beside this file: the same reading of a result.

LEVEL = "tb/redis"
PHASE_CONCURRENCY_MIN = 30
FLOW_CONCURRENCIES = (100, 300)
FLOW_TICKETS_PER_S_MIN = 4000
SERVER_CPU_US_PER_TICKET_MAX = 100
FLOW_P99_CONCURRENCY = 100
FLOW_P99_MS_MAX = 20.0
FLOOR_P99_FACTOR = 1.5
# (phase, concurrency, ops/s at least)
PHASE_OPS_MIN = [("reserve", 1000, 30000), ("commit", 1000, 30000), ("checkout", 300, 20000),
                 ("webhook", 300, 10000)]
PHASES = ("reserve", "commit", "checkout", "webhook", "seats", "seats-304", "seat-holds",
          "seat-voids")
LEDGER_BATCHES = "tigerbeetle create_transfers"

MET, NOT_MET, NOT_MEASURED = "met", "not met", "not measured"


def number(value):
    return f"{value:,.0f}"


def repeats(result):
    """{(level, phase, concurrency): [ops/s of each repeat]}"""
    found = {}
    for run in result["runs"]:
        key = (run["level"], run["phase"], run["concurrency"])
        found.setdefault(key, []).append(run["ops_per_s"])
    return found


def mean(values):
    return sum(values) / len(values)


def fastest_phases(result):
    """Level 3 the fastest of every phase at concurrency 30 and above, where it and another
    level both ran."""
    ran = repeats(result)
    columns = sorted({(phase, c) for (level, phase, c) in ran
                      if level == LEVEL and c >= PHASE_CONCURRENCY_MIN},
                     key=lambda column: (PHASES.index(column[0]) if column[0] in PHASES
                                         else len(PHASES), column[1]))
    compared, losses = 0, []
    for phase, c in columns:
        others = {level: ops for (level, p, cc), ops in ran.items()
                  if p == phase and cc == c and level != LEVEL}
        if not others:
            continue
        compared += 1
        best_level = max(others, key=lambda level: mean(others[level]))
        own, best = ran[(LEVEL, phase, c)], others[best_level]
        if mean(own) < mean(best):
            losses.append(f"{phase} at {c} ({mean(own) / mean(best):.0%} of {best_level}'s; "
                          f"repeats {' and '.join(map(number, own))} against "
                          f"{' and '.join(map(number, best))})")
    if compared == 0:
        return NOT_MEASURED, "no phase ran at level 3 and another level"
    detail = f"{compared - len(losses)} of {compared}"
    if losses:
        detail += "; lost " + ", ".join(losses)
    return (NOT_MET if losses else MET), detail


def flows_of(result, level):
    return sorted((f for f in result.get("flows", []) if f["level"] == level),
                  key=lambda f: f["concurrency"])


def fastest_flow(result):
    """Level 3 the fastest full flow at every flow concurrency some other level also ran."""
    verdicts = []
    for flow in flows_of(result, LEVEL):
        others = [f for f in result.get("flows", [])
                  if f["level"] != LEVEL and f["concurrency"] == flow["concurrency"]]
        if not others:
            continue
        best = max(others, key=lambda f: f["throughput_per_s"])
        won = flow["throughput_per_s"] >= best["throughput_per_s"]
        verdicts.append((won, f"{flow['concurrency']} fans: {number(flow['throughput_per_s'])} "
                              f"against {best['level']}'s {number(best['throughput_per_s'])}"))
    if not verdicts:
        return NOT_MEASURED, "no flow ran at level 3 and another level"
    met = all(won for won, _ in verdicts)
    return (MET if met else NOT_MET), "; ".join(text for _, text in verdicts)


def clean(flow):
    """Every order paid, no error and no timeout."""
    return flow["paid"] == flow["total"] and not flow.get("error") and not flow.get("errors")


def flow_pace(result):
    candidates = [f for f in flows_of(result, LEVEL) if f["concurrency"] in FLOW_CONCURRENCIES]
    if not candidates:
        return NOT_MEASURED, "no level-3 flow at 100 or 300 fans"
    met = any(f["throughput_per_s"] >= FLOW_TICKETS_PER_S_MIN and clean(f) for f in candidates)
    detail = "; ".join(
        f"{f['concurrency']} fans: {number(f['throughput_per_s'])} tickets/s, "
        f"{f['paid']} of {f['total']} paid" + ("" if clean(f) else ", with errors")
        for f in candidates)
    return (MET if met else NOT_MET), detail


def server_cpu(result):
    candidates = [f for f in flows_of(result, LEVEL) if f["concurrency"] in FLOW_CONCURRENCIES
                  and f.get("server_cpu_us_per_ticket") is not None]
    if not candidates:
        return NOT_MEASURED, "no level-3 flow at 100 or 300 fans with the server's CPU"
    best = min(f["server_cpu_us_per_ticket"] for f in candidates)
    detail = "; ".join(f"{f['concurrency']} fans: {number(f['server_cpu_us_per_ticket'])} µs"
                       for f in candidates)
    if best > SERVER_CPU_US_PER_TICKET_MAX:
        detail += f" ({best / SERVER_CPU_US_PER_TICKET_MAX:.1f}× the goal at best)"
    return (MET if best <= SERVER_CPU_US_PER_TICKET_MAX else NOT_MET), detail


def floor_p99_ms(result, transfers_per_request):
    """The replica's p99 at the smallest size the floor timed that holds the flow's mean request
    (the largest size when none does), and that size; None without a floor."""
    floor = result.get("tb_floor") or {}
    sizes = sorted((entry for entry in floor.get("round_trip") or []
                    if not entry.get("refused") and entry.get("latency")),
                   key=lambda entry: entry["transfers"])
    if not sizes:
        return None
    holding = [entry for entry in sizes if entry["transfers"] >= transfers_per_request]
    entry = holding[0] if holding else sizes[-1]
    return entry["latency"]["p99_ms"], entry["transfers"]


def flow_p99(result):
    flows = [f for f in flows_of(result, LEVEL) if f["concurrency"] == FLOW_P99_CONCURRENCY]
    if not flows:
        return NOT_MEASURED, "no level-3 flow at 100 fans"
    flow = flows[0]
    p99_ms = flow["end_to_end"]["p99_s"] * 1e3
    batches = (flow.get("batches") or {}).get(LEDGER_BATCHES)
    floor = floor_p99_ms(result, batches["mean"]) if batches else None
    bound_ms, why = FLOW_P99_MS_MAX, f"{FLOW_P99_MS_MAX:.0f} ms"
    if floor is not None:
        floor_ms, size = floor
        why += (f"; the replica's p99 at {number(size)} transfers, for the flow's "
                f"{batches['mean']:.0f} per request: {floor_ms:.1f} ms")
        if floor_ms > FLOW_P99_MS_MAX:
            bound_ms = FLOOR_P99_FACTOR * floor_ms
            why += f", so the bound is {bound_ms:.1f} ms"
    else:
        why += "; no floor at the flow's request size in this result"
    detail = f"{p99_ms:.1f} ms against {why}"
    if p99_ms > bound_ms:
        detail += f" ({p99_ms / bound_ms:.1f}× the bound)"
    return (MET if p99_ms <= bound_ms else NOT_MET), detail


def phase_pace(result, phase, concurrency, ops_min):
    ops = repeats(result).get((LEVEL, phase, concurrency))
    if not ops:
        return NOT_MEASURED, f"no level-3 {phase} at {concurrency}"
    detail = f"{number(mean(ops))} (repeats {' and '.join(map(number, ops))})"
    if mean(ops) < ops_min:
        detail += f", {mean(ops) / ops_min:.0%}"
    return (MET if mean(ops) >= ops_min else NOT_MET), detail


def judge(result):
    """[(target, verdict, detail)] for level 3 in `result`."""
    rows = [
        ("fastest level on every phase at c ≥ 30", *fastest_phases(result)),
        ("fastest level on the full flow", *fastest_flow(result)),
        ("flow ≥ 4,000 tickets/s at 100 or 300 fans, no errors", *flow_pace(result)),
        ("server CPU ≤ 100 µs per ticket", *server_cpu(result)),
        ("flow p99 at 100 fans ≤ 20 ms, or ≤ 1.5× the replica's p99 where that is above",
         *flow_p99(result)),
    ]
    for phase, concurrency, ops_min in PHASE_OPS_MIN:
        rows.append((f"{phase} ≥ {number(ops_min)} ops/s at c={concurrency}",
                     *phase_pace(result, phase, concurrency, ops_min)))
    return rows


def markdown(result):
    """Markdown lines: the targets table of `result`."""
    lines = ["", "Level 3 against its targets (bench/targets.py):", "",
             "| target | verdict | level 3 in this run |", "|---|---|---|"]
    for target, verdict, detail in judge(result):
        lines.append(f"| {target} | {verdict} | {detail} |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", help="a results JSON of bench/run_bench.py")
    options = parser.parse_args()
    try:
        result = load(options.result)
    except Unreadable as error:
        print(f"targets: {error}", file=sys.stderr)
        return 2
    print(f"{options.result}: {result.get('date', '?')}, commit {result.get('commit', '?')}")
    print("\n".join(markdown(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

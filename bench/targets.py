#!/usr/bin/python3
"""Level 3 against its speed targets, from one recorded benchmark result (bench/run_bench.py's
JSON): `make bench-targets R=<results.json>`. `make bench` ends its summary with the same table.

The targets, each judged on this one result:
- level 3 the fastest level of every phase at concurrency 30 and above (means over the repeats;
  a column level 3 did not run, or ran at 0 ops/s, is lost), and of the full flow at every flow
  concurrency from 30 (a level-3 flow with an unpaid order loses);
- a level-3 flow of at least 4,000 tickets/s at 100 or 300 fans, every order paid;
- such a flow, every order paid, with at most 100 µs of server CPU per ticket;
- the level-3 flow's p99 at 100 fans, every order paid, at most 20 ms or, where the replica's
  own p99 at the flow's mean request size is above 20 ms, at most 1.5 times that p99 (from the
  TigerBeetle floor of the same result, interpolated on a log scale between the sizes it timed);
- reserve and commit at 30,000 ops/s or more at concurrency 1000, checkout at 20,000 and the
  webhook at 10,000 at concurrency 300 (level 3, means over the repeats).

A target is "met", "not met", or "not measured" when the result lacks what it needs (no level 3,
no other level, a level that failed or was skipped, no flow). Standard library only.

Exit code 0 when the table was printed, 2 when the file is missing or is not a benchmark result.
"""

import argparse
import math
import sys

from compare import Unreadable, load, mean  # Beside this file: the same reading of a result.

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


def share(part, whole):
    """part / whole in percent, never rounded up to 100% when below it."""
    percent = math.floor(part / whole * 1000) / 10
    return f"{percent:.1f}%" if percent % 1 else f"{percent:.0f}%"


def repeats(result):
    """{(level, phase, concurrency): [ops/s of each repeat]}"""
    found = {}
    for run in result["runs"]:
        key = (run["level"], run["phase"], run["concurrency"])
        found.setdefault(key, []).append(run["ops_per_s"])
    return found


def missing_rivals(result):
    """The other levels that were skipped or failed, wholly or in their seat phases: "fastest"
    cannot be judged without them. (A failed waiting-room run or HTTP floor leaves it be.)"""
    gone = {**(result.get("skipped") or {}), **(result.get("failed") or {})}
    return sorted(name for name in gone if name.removesuffix(" seats").count("/") == 1
                  and " " not in name.removesuffix(" seats") and not name.startswith(LEVEL))


def fastest_phases(result):
    """Level 3 the fastest of every phase at concurrency 30 and above that some other level
    ran; a column level 3 did not run, or ran at 0 ops/s, is lost."""
    ran = repeats(result)
    order = {phase: index for index, phase in enumerate(PHASES)}
    columns = sorted({(phase, c) for (level, phase, c) in ran
                      if level != LEVEL and c >= PHASE_CONCURRENCY_MIN},
                     key=lambda column: (order.get(column[0], len(PHASES)), column[1]))
    losses = []
    for phase, c in columns:
        others = {level: ops for (level, p, cc), ops in ran.items()
                  if p == phase and cc == c and level != LEVEL}
        best_level = max(others, key=lambda level: mean(others[level]))
        own, best = ran.get((LEVEL, phase, c)), others[best_level]
        if not own:
            losses.append(f"{phase} at {c} (not run at level 3)")
        elif mean(best) <= 0:
            losses.append(f"{phase} at {c} (no request answered at any level)")
        elif mean(own) < mean(best):
            losses.append(f"{phase} at {c} ({share(mean(own), mean(best))} of {best_level}'s; "
                          f"repeats {' and '.join(map(number, own))} against "
                          f"{' and '.join(map(number, best))})")
    if not columns or not any(level == LEVEL for (level, _, _) in ran):
        return NOT_MEASURED, "no phase ran at level 3 and another level"
    if missing_rivals(result):
        return NOT_MEASURED, f"{', '.join(missing_rivals(result))} did not run"
    detail = f"{len(columns) - len(losses)} of {len(columns)}"
    if losses:
        detail += "; lost " + ", ".join(losses)
    return (NOT_MET if losses else MET), detail


def flows_of(result, level, concurrencies=None):
    return sorted((f for f in result.get("flows") or [] if f["level"] == level
                   and (concurrencies is None or f["concurrency"] in concurrencies)),
                  key=lambda f: f["concurrency"])


def clean(flow):
    """Every order paid: no error, failure, timeout, cancel or order left unfulfilled (each
    order of a flow has one outcome, so this counts them all)."""
    return flow["paid"] == flow["total"]


def paid_text(flow):
    return f"{number(flow['paid'])} of {number(flow['total'])} paid"


def fastest_flow(result):
    """Level 3 the fastest full flow at every flow concurrency from 30 that another level ran;
    a level-3 flow with an unpaid order, or none at all, loses."""
    rivals = [f for f in result.get("flows") or []
              if f["level"] != LEVEL and f["concurrency"] >= PHASE_CONCURRENCY_MIN]
    verdicts = []
    for c in sorted({f["concurrency"] for f in rivals}):
        best = max((f for f in rivals if f["concurrency"] == c),
                   key=lambda f: f["throughput_per_s"])
        own = flows_of(result, LEVEL, (c,))
        against = f"against {best['level']}'s {number(best['throughput_per_s'])}"
        if not own:
            verdicts.append((False, f"{c} fans: no level-3 flow {against}"))
            continue
        flow = own[0]
        won = clean(flow) and flow["throughput_per_s"] >= best["throughput_per_s"]
        verdicts.append((won, f"{c} fans: {number(flow['throughput_per_s'])} {against}"
                              + ("" if clean(flow) else f", {paid_text(flow)}")))
    if not verdicts or not flows_of(result, LEVEL):
        return NOT_MEASURED, "no flow ran at level 3 and another level"
    if missing_rivals(result):
        return NOT_MEASURED, f"{', '.join(missing_rivals(result))} did not run"
    met = all(won for won, _ in verdicts)
    return (MET if met else NOT_MET), "; ".join(text for _, text in verdicts)


def flow_pace(result):
    candidates = flows_of(result, LEVEL, FLOW_CONCURRENCIES)
    if not candidates:
        return NOT_MEASURED, "no level-3 flow at 100 or 300 fans"
    met = any(f["throughput_per_s"] >= FLOW_TICKETS_PER_S_MIN and clean(f) for f in candidates)
    detail = "; ".join(f"{f['concurrency']} fans: {number(f['throughput_per_s'])} tickets/s, "
                       f"{paid_text(f)}" for f in candidates)
    return (MET if met else NOT_MET), detail


def server_cpu(result):
    """Judged on the level-3 flows at 100 or 300 fans with every order paid."""
    candidates = [f for f in flows_of(result, LEVEL, FLOW_CONCURRENCIES)
                  if clean(f) and f.get("server_cpu_us_per_ticket") is not None]
    if not candidates:
        return NOT_MEASURED, ("no level-3 flow at 100 or 300 fans with every order paid and the "
                              "server's CPU")
    best = min(f["server_cpu_us_per_ticket"] for f in candidates)
    detail = "; ".join(f"{f['concurrency']} fans: {number(f['server_cpu_us_per_ticket'])} µs"
                       for f in candidates)
    if best > SERVER_CPU_US_PER_TICKET_MAX:
        detail += f" ({best / SERVER_CPU_US_PER_TICKET_MAX:.2f}× the goal at best)"
    return (MET if best <= SERVER_CPU_US_PER_TICKET_MAX else NOT_MET), detail


def floor_p99_ms(result, transfers_per_request):
    """The replica's p99 for requests of that many transfers, interpolated on a log scale
    between the two sizes the floor timed on either side (the nearest beyond its range), with
    the sizes it came from; None without a floor."""
    floor = result.get("tb_floor") or {}
    sizes = sorted(((entry["transfers"], entry["latency"]["p99_ms"])
                    for entry in floor.get("round_trip") or []
                    if not entry.get("refused") and entry.get("latency")))
    if not sizes:
        return None
    below = [size for size in sizes if size[0] <= transfers_per_request]
    above = [size for size in sizes if size[0] >= transfers_per_request]
    if not below or not above:
        size = above[0] if above else below[-1]
        return size[1], (size[0],)
    (low, low_ms), (high, high_ms) = below[-1], above[0]
    if low == high:
        return low_ms, (low,)
    weight = math.log(transfers_per_request / low) / math.log(high / low)
    return low_ms + weight * (high_ms - low_ms), (low, high)


def flow_p99(result):
    flows = flows_of(result, LEVEL, (FLOW_P99_CONCURRENCY,))
    if not flows:
        return NOT_MEASURED, "no level-3 flow at 100 fans"
    verdicts = [one_flow_p99(result, flow) for flow in flows]
    met = all(verdict == MET for verdict, _ in verdicts)
    return (MET if met else NOT_MET), "; ".join(detail for _, detail in verdicts)


def one_flow_p99(result, flow):
    if not clean(flow):
        return NOT_MET, f"{paid_text(flow)}: the p99 leaves out the orders that failed"
    p99_ms = flow["end_to_end"]["p99_s"] * 1e3
    batches = (flow.get("batches") or {}).get(LEDGER_BATCHES)
    floor = floor_p99_ms(result, batches["mean"]) if batches and batches.get("mean") else None
    bound_ms, why = FLOW_P99_MS_MAX, f"{FLOW_P99_MS_MAX:.0f} ms"
    if floor is not None:
        floor_ms, sizes = floor
        timed = " and ".join(map(number, sizes))
        why += (f"; the replica's p99 for the flow's {batches['mean']:.0f} transfers per request "
                f"(from the floor's {timed}): {floor_ms:.1f} ms")
        if floor_ms > FLOW_P99_MS_MAX:
            bound_ms = FLOOR_P99_FACTOR * floor_ms
            why += f", so the bound is {bound_ms:.1f} ms"
    elif batches:
        why += "; no TigerBeetle floor in this result"
    else:
        why += "; the flow's ledger request size is not recorded"
    detail = f"{p99_ms:.1f} ms against {why}"
    if p99_ms > bound_ms:
        detail += f" ({p99_ms / bound_ms:.2f}× the bound)"
    return (MET if p99_ms <= bound_ms else NOT_MET), detail


def phase_pace(result, phase, concurrency, ops_min):
    ops = repeats(result).get((LEVEL, phase, concurrency))
    if not ops:
        return NOT_MEASURED, f"no level-3 {phase} at {concurrency}"
    detail = f"{number(mean(ops))} (repeats {' and '.join(map(number, ops))})"
    if mean(ops) < ops_min:
        detail += f", {share(mean(ops), ops_min)}"
    return (MET if mean(ops) >= ops_min else NOT_MET), detail


def judge(result):
    """[(target, verdict, detail)] for level 3 in `result`."""
    rows = [
        ("fastest level on every phase at c ≥ 30", *fastest_phases(result)),
        ("fastest level on the full flow", *fastest_flow(result)),
        ("flow ≥ 4,000 tickets/s at 100 or 300 fans, every order paid", *flow_pace(result)),
        ("server CPU ≤ 100 µs per ticket", *server_cpu(result)),
        ("flow p99 at 100 fans ≤ 20 ms, or ≤ 1.5× the replica's p99 where that is above",
         *flow_p99(result)),
    ]
    for phase, concurrency, ops_min in PHASE_OPS_MIN:
        rows.append((f"{phase} ≥ {number(ops_min)} ops/s at c={concurrency}",
                     *phase_pace(result, phase, concurrency, ops_min)))
    return rows


def judge_or_say_why(result):
    """judge(), or a single row saying why it could not judge: a benchmark run keeps its
    results whatever this finds in them."""
    try:
        return judge(result)
    except Exception as error:  # Whatever it is, the run's files are written all the same.
        return [("every target", NOT_MEASURED,
                 f"the result could not be judged ({type(error).__name__}: {error})")]


def table(rows):
    """Markdown lines: a table of judge()'s rows."""
    return (["", "Level 3 against its targets (bench/targets.py):", "",
             "| target | verdict | level 3 in this run |", "|---|---|---|"]
            + [f"| {target} | {verdict} | {detail} |" for target, verdict, detail in rows])


def markdown(result):
    """Markdown lines: the targets table of `result`, whatever it holds."""
    return table(judge_or_say_why(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", help="a results JSON of bench/run_bench.py")
    options = parser.parse_args()
    try:
        result = load(options.result)
        rows = judge(result)
    except Unreadable as error:
        print(f"targets: {error}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
        print(f"targets: {options.result}: not a benchmark result ({type(error).__name__}: "
              f"{error})", file=sys.stderr)
        return 2
    print(f"{options.result}: {result.get('date', '?')}, commit {result.get('commit', '?')}")
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Compares two recorded benchmark results (bench/run_bench.py's JSON): `make bench-compare`.

For every level, phase and concurrency present in both A and B (the mean over each file's
repeats), and for the full-flow runs, prints throughput, p50, p99 and the server's CPU time per
operation (per ticket for the flow) of A and B with the change from A to B in percent. A change
beyond the threshold is marked: "!" where B is worse (less throughput, more latency or CPU),
"+" where B is better. Standard library only.

Exit code 0 when the table was printed, 1 when the files have nothing in common, 2 when a file
is missing or is not a benchmark result.
"""

import argparse
import json
import sys

PHASES = ("reserve", "commit", "checkout", "webhook", "flow")
# (column title, higher is better, how a value is written): throughput, p50 and p99 in ms,
# the server's CPU in µs per operation.
METRICS = [
    ("ops/s", True, "{:,.0f}"),
    ("p50", False, "{:.2f}"),
    ("p99", False, "{:.2f}"),
    ("cpu", False, "{:,.0f}"),
]


class Unreadable(Exception):
    """A file that is missing or is not a benchmark result."""


def load(path):
    try:
        with open(path) as f:
            result = json.load(f)
    except OSError as error:
        raise Unreadable(f"{path}: {error.strerror}") from error
    except ValueError as error:
        raise Unreadable(f"{path}: not JSON ({error})") from error
    if not isinstance(result, dict) or not isinstance(result.get("runs"), list):
        raise Unreadable(f"{path}: not a benchmark result (no list of runs)")
    return result


def run_values(run):
    return (run["ops_per_s"], run["latency"]["p50_s"] * 1e3, run["latency"]["p99_s"] * 1e3,
            run.get("server_cpu_us_per_op"))


def flow_values(flow):
    e2e = flow["end_to_end"]
    return (flow["throughput_per_s"], e2e["p50_s"] * 1e3, e2e["p99_s"] * 1e3,
            flow.get("server_cpu_us_per_ticket"))


def mean(values):
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def rows(path, result):
    """{(level, phase, concurrency): (ops/s, p50 ms, p99 ms, CPU µs/op)}, means over repeats;
    the flow runs under the phase "flow"."""
    samples = {}
    try:
        for run in result["runs"]:
            key = (run["level"], run["phase"], run["concurrency"])
            samples.setdefault(key, []).append(run_values(run))
        for flow in result.get("flows") or []:
            key = (flow["level"], "flow", flow["concurrency"])
            samples.setdefault(key, []).append(flow_values(flow))
    except (KeyError, TypeError) as error:
        raise Unreadable(f"{path}: a run lacks {error}") from error
    return {key: tuple(mean(column) for column in zip(*values))
            for key, values in samples.items()}


def change(a, b, higher_is_better, threshold):
    """The change from a to b as text ("+12.5%"), with its mark or two spaces."""
    if a is None or b is None:
        return "-  "
    if a == 0:
        return ("0" if b == 0 else "n/a") + "  "
    percent = (b - a) / a * 100
    mark = "  "
    if abs(percent) > threshold:
        better = percent > 0 if higher_is_better else percent < 0
        mark = " +" if better else " !"
    return f"{percent:+.1f}%{mark}"


def order(key):
    level, phase, concurrency = key
    return level, PHASES.index(phase) if phase in PHASES else len(PHASES), phase, concurrency


def table(a_rows, b_rows, threshold):
    """The aligned table's lines, and how many changes were marked worse."""
    header = ["level", "phase", "c"]
    for title, _, _ in METRICS:
        header += [f"{title} A", f"{title} B", "Δ  "]
    lines, worse = [header], 0
    for key in sorted(a_rows.keys() & b_rows.keys(), key=order):
        cells = [key[0], key[1], str(key[2])]
        for i, (_, higher_is_better, style) in enumerate(METRICS):
            a, b = a_rows[key][i], b_rows[key][i]
            moved = change(a, b, higher_is_better, threshold)
            worse += moved.endswith(" !")
            cells += ["-" if a is None else style.format(a), "-" if b is None else style.format(b),
                      moved]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = []
    for line in lines:
        left = [cell.ljust(width) for cell, width in zip(line[:2], widths)]
        right = [cell.rjust(width) for cell, width in zip(line[2:], widths[2:])]
        text.append("  ".join(left + right).rstrip())
    return text, worse


def general_admission(result):
    """How the file's general-admission phases and flows ran: on a server without a venue in
    the files that record the seat phases' `venue` (since 2026-12-05), before that on the seat
    phases' server (with the stadium from 2026-12-03)."""
    if "venue" in result:
        return "general admission without a venue"
    return "general admission on the seat phases' server"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="the baseline results (JSON of bench/run_bench.py)")
    parser.add_argument("b", help="the results to compare with it")
    parser.add_argument("--threshold", type=float, default=10.0,
                        help="mark changes beyond this many percent (default 10)")
    options = parser.parse_args(argv)
    try:
        a, b = load(options.a), load(options.b)
        a_rows, b_rows = rows(options.a, a), rows(options.b, b)
    except Unreadable as error:
        print(f"compare: {error}", file=sys.stderr)
        return 2
    if not a_rows.keys() & b_rows.keys():
        print("compare: no level, phase and concurrency in both files", file=sys.stderr)
        return 1
    for name, result in (("A", a), ("B", b)):
        machine = result.get("machine") or {}
        print(f"{name}: {result.get('date', '?')}, commit {result.get('commit', '?')}, "
              f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores"
              f"{', tiny' if result.get('tiny') else ''}; {general_admission(result)}")
    if general_admission(a) != general_admission(b):
        print("compare: A and B ran general admission on differently set up servers; the change "
              "from A to B includes that", file=sys.stderr)
    lines, worse = table(a_rows, b_rows, options.threshold)
    print()
    print("\n".join(lines))
    print()
    print("Means over each file's repeats. p50 and p99 in ms; cpu: the server's CPU in µs per")
    print("operation. flow: tickets/s, latency from checkout to settled order, µs per ticket.")
    print(f"Δ from A to B; beyond ±{options.threshold:g}%: ! worse in B ({worse} of them), "
          "+ better in B.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

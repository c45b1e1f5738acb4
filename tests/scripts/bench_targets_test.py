#!/usr/bin/python3
"""Runs bench/targets.py's verdicts on small results built here: each target met and missed
with what decides it named, the edges of each (thresholds met exactly, ties, c=30), unpaid
orders and missing levels, the floor's p99 raising the flow's bound only above 20 ms, "not
measured" for what a result lacks, and exit 2 for a missing or foreign file."""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import targets  # noqa: E402

TB, PG = "tb/redis", "pg/redis"
# Level 3's ops/s per phase and concurrency (both repeats), and level 2's below them.
TB_OPS = {("reserve", 300): 40000, ("reserve", 1000): 45000, ("commit", 1000): 35000,
          ("checkout", 300): 25000, ("webhook", 300): 12000, ("commit", 10): 5000}
PG_SHARE = 0.5


def run(level, phase, concurrency, ops, repeat):
    return {"level": level, "phase": phase, "concurrency": concurrency, "ops_per_s": ops,
            "repeat": repeat}


def flow(level, concurrency, tickets_per_s, p99_ms, cpu_us, batch_mean=50.0):
    return {"level": level, "concurrency": concurrency, "throughput_per_s": tickets_per_s,
            "paid": 1000, "total": 1000, "error": 0, "errors": {},
            "end_to_end": {"p99_s": p99_ms / 1e3}, "server_cpu_us_per_ticket": cpu_us,
            "batches": {targets.LEDGER_BATCHES: {"batches": 20, "mean": batch_mean}}}


def floor(p99_ms_by_size):
    return {"round_trip": [{"transfers": size, "refused": False,
                            "latency": {"median_ms": 0.5, "p99_ms": p99}}
                           for size, p99 in p99_ms_by_size]}


def passing():
    """A result in which level 3 meets every target."""
    runs = []
    for (phase, c), ops in TB_OPS.items():
        for repeat in (0, 1):
            runs.append(run(TB, phase, c, ops, repeat))
            runs.append(run(PG, phase, c, ops * PG_SHARE, repeat))
    return {"date": "2026-01-01T00:00:00+00:00", "commit": "aaaaaaa", "runs": runs,
            "flows": [flow(TB, 100, 9000, 18.0, 90), flow(TB, 300, 9500, 40.0, 80),
                      flow(PG, 100, 5000, 30.0, 150), flow(PG, 300, 6000, 60.0, 140)],
            "tb_floor": floor([(1, 1.0), (10, 2.0), (100, 5.0), (1000, 30.0)])}


def set_ops(result, level, phase, concurrency, ops):
    """Every repeat of that level's phase at that concurrency at `ops`."""
    for r in result["runs"]:
        if (r["level"], r["phase"], r["concurrency"]) == (level, phase, concurrency):
            r["ops_per_s"] = ops


def verdicts(result):
    return {target: (verdict, detail) for target, verdict, detail in targets.judge(result)}


def verdict_of(result, prefix):
    found = [value for target, value in verdicts(result).items() if target.startswith(prefix)]
    assert len(found) == 1, f"no single target starting {prefix!r}"
    return found[0]


class EveryTargetMet(unittest.TestCase):
    def test_a_result_that_meets_them_all_says_so(self):
        for target, (verdict, detail) in verdicts(passing()).items():
            self.assertEqual(verdict, targets.MET, f"{target}: {detail}")

    def test_the_phases_below_30_are_not_judged(self):
        # Level 3 loses commit at concurrency 10; that column is not among the judged.
        result = passing()
        set_ops(result, PG, "commit", 10, 99999)
        verdict, detail = verdict_of(result, "fastest level on every phase")
        self.assertEqual(verdict, targets.MET)
        self.assertIn("5 of 5", detail)


class EachTargetMissed(unittest.TestCase):
    def test_a_phase_lost_on_the_mean_is_named_with_both_levels_repeats(self):
        result = passing()
        for r in result["runs"]:
            if r["level"] == PG and r["phase"] == "webhook":
                r["ops_per_s"] = 13000 if r["repeat"] == 0 else 11500
        verdict, detail = verdict_of(result, "fastest level on every phase")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertIn("4 of 5", detail)
        self.assertIn("webhook at 300 (97.9% of pg/redis's; repeats 12,000 and 12,000 against "
                      "13,000 and 11,500)", detail)

    def test_a_flow_lost_at_one_concurrency(self):
        result = passing()
        result["flows"][3]["throughput_per_s"] = 9600
        verdict, detail = verdict_of(result, "fastest level on the full flow")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertIn("300 fans: 9,500 against pg/redis's 9,600", detail)

    def test_a_fast_flow_with_an_unpaid_order_does_not_count(self):
        result = passing()
        for f in result["flows"][:2]:
            f["paid"] = 999
        verdict, detail = verdict_of(result, "flow ≥ 4,000")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertIn("999 of 1,000 paid", detail)

    def test_one_flow_of_4000_at_100_or_300_is_enough(self):
        result = passing()
        result["flows"][0]["throughput_per_s"] = 3000
        self.assertEqual(verdict_of(result, "flow ≥ 4,000")[0], targets.MET)
        result["flows"][1]["throughput_per_s"] = 3999
        self.assertEqual(verdict_of(result, "flow ≥ 4,000")[0], targets.NOT_MET)

    def test_server_cpu_above_100_everywhere(self):
        result = passing()
        result["flows"][0]["server_cpu_us_per_ticket"] = 204
        result["flows"][1]["server_cpu_us_per_ticket"] = 150
        verdict, detail = verdict_of(result, "server CPU")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertIn("(1.50× the goal at best)", detail)

    def test_a_phase_below_its_pace_on_the_mean(self):
        result = passing()
        for r in result["runs"]:
            if r["level"] == TB and r["phase"] == "commit" and r["concurrency"] == 1000:
                r["ops_per_s"] = 31000 if r["repeat"] == 0 else 28000
        verdict, detail = verdict_of(result, "commit ≥ 30,000")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertEqual(detail, "29,500 (repeats 31,000 and 28,000), 98.3%")


class TheFlowsP99Bound(unittest.TestCase):
    def test_20_ms_while_the_replicas_p99_at_the_flows_size_is_below_it(self):
        result = passing()
        result["flows"][0]["end_to_end"]["p99_s"] = 0.021
        verdict, detail = verdict_of(result, "flow p99")
        self.assertEqual(verdict, targets.NOT_MET)
        # 50 transfers lie between the floor's 10 (p99 2 ms) and 100 (5 ms): log10(5) of the
        # way, 4.1 ms.
        self.assertIn("21.0 ms against 20 ms; the replica's p99 for the flow's 50 transfers per "
                      "request (from the floor's 10 and 100): 4.1 ms", detail)

    def test_one_and_a_half_times_the_replicas_p99_when_that_is_above_20_ms(self):
        result = passing()
        result["flows"][0]["batches"][targets.LEDGER_BATCHES]["mean"] = 1000.0
        result["flows"][0]["end_to_end"]["p99_s"] = 0.044  # The bound: 1.5 × 30 ms = 45 ms.
        verdict, detail = verdict_of(result, "flow p99")
        self.assertEqual(verdict, targets.MET, detail)
        self.assertIn("so the bound is 45.0 ms", detail)
        result["flows"][0]["end_to_end"]["p99_s"] = 0.046
        self.assertEqual(verdict_of(result, "flow p99")[0], targets.NOT_MET)

    def test_a_request_larger_than_the_floor_timed_takes_its_largest_size(self):
        self.assertEqual(targets.floor_p99_ms(passing(), 5000), (30.0, (1000,)))
        self.assertEqual(targets.floor_p99_ms(passing(), 100), (5.0, (100,)))

    def test_without_a_floor_the_bound_is_20_ms(self):
        result = passing()
        result["tb_floor"] = None
        verdict, detail = verdict_of(result, "flow p99")
        self.assertEqual(verdict, targets.MET)
        self.assertIn("no TigerBeetle floor", detail)


class WhatAResultLacks(unittest.TestCase):
    def test_a_result_without_level_3_measures_nothing(self):
        result = passing()
        result["runs"] = [r for r in result["runs"] if r["level"] != TB]
        result["flows"] = [f for f in result["flows"] if f["level"] != TB]
        for target, (verdict, detail) in verdicts(result).items():
            self.assertEqual(verdict, targets.NOT_MEASURED, f"{target}: {detail}")

    def test_level_3_alone_cannot_be_the_fastest_but_meets_its_paces(self):
        result = passing()
        result["runs"] = [r for r in result["runs"] if r["level"] == TB]
        result["flows"] = [f for f in result["flows"] if f["level"] == TB]
        table = verdicts(result)
        self.assertEqual(verdict_of(result, "fastest level on every")[0], targets.NOT_MEASURED)
        self.assertEqual(verdict_of(result, "fastest level on the full")[0],
                         targets.NOT_MEASURED)
        self.assertEqual(table["webhook ≥ 10,000 ops/s at c=300"][0], targets.MET)


class TheEdges(unittest.TestCase):
    def test_concurrency_30_is_judged(self):
        result = passing()
        result["runs"] += [run(TB, "reserve", 30, 100, 0), run(PG, "reserve", 30, 200, 0)]
        verdict, detail = verdict_of(result, "fastest level on every phase")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertIn("reserve at 30 (50% of pg/redis's", detail)

    def test_a_tie_is_not_a_loss(self):
        result = passing()
        set_ops(result, PG, "webhook", 300, TB_OPS[("webhook", 300)])
        result["flows"][3]["throughput_per_s"] = 9500
        self.assertEqual(verdict_of(result, "fastest level on every phase")[0], targets.MET)
        self.assertEqual(verdict_of(result, "fastest level on the full flow")[0], targets.MET)

    def test_the_fastest_of_several_other_levels_is_the_one_to_beat(self):
        result = passing()
        result["runs"] += [run("pg/pg", "checkout", 300, 26000, 0)]
        verdict, detail = verdict_of(result, "fastest level on every phase")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertIn("checkout at 300 (96.1% of pg/pg's", detail)

    def test_a_column_level_3_did_not_run_or_ran_at_0_is_lost(self):
        result = passing()
        result["runs"] += [run(PG, "seats", 100, 50000, 0)]
        set_ops(result, TB, "reserve", 300, 0)
        set_ops(result, PG, "reserve", 300, 0)
        verdict, detail = verdict_of(result, "fastest level on every phase")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertIn("4 of 6", detail)
        self.assertIn("seats at 100 (not run at level 3)", detail)
        self.assertIn("reserve at 300 (no request answered at any level)", detail)

    def test_a_rival_level_that_failed_or_was_skipped_leaves_fastest_unjudged(self):
        for gone in ({"skipped": {"pg/pg": "no binary"}}, {"failed": {"pg/pg seats": "boom"}}):
            result = dict(passing(), **gone)
            verdict, detail = verdict_of(result, "fastest level on every phase")
            self.assertEqual(verdict, targets.NOT_MEASURED)
            self.assertIn("pg/pg", detail)
            self.assertEqual(verdict_of(result, "fastest level on the full flow")[0],
                             targets.NOT_MEASURED)
        result = dict(passing(), failed={"pg/redis queue": "x", "http floor": "y"})
        self.assertEqual(verdict_of(result, "fastest level on every phase")[0], targets.MET)

    def test_each_threshold_met_exactly_is_met(self):
        result = passing()
        set_ops(result, TB, "webhook", 300, 10000)
        result["flows"][0].update(throughput_per_s=4000, server_cpu_us_per_ticket=100)
        result["flows"][0]["end_to_end"]["p99_s"] = 0.020
        result["flows"][1].update(throughput_per_s=3000, server_cpu_us_per_ticket=200)
        for target, (verdict, detail) in verdicts(result).items():
            if not target.startswith("fastest"):
                self.assertEqual(verdict, targets.MET, f"{target}: {detail}")

    def test_a_floor_p99_of_exactly_20_ms_keeps_the_bound_at_20(self):
        result = passing()
        result["tb_floor"] = floor([(100, 20.0)])
        result["flows"][0]["end_to_end"]["p99_s"] = 0.021
        verdict, detail = verdict_of(result, "flow p99")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertNotIn("so the bound", detail)

    def test_a_refused_size_of_the_floor_is_not_used(self):
        result = passing()
        result["tb_floor"]["round_trip"].append(
            {"transfers": 50, "refused": True, "latency": {"p99_ms": 99.0}})
        self.assertAlmostEqual(targets.floor_p99_ms(result, 50)[0], 4.1, places=1)

    def test_a_flow_with_an_unpaid_order_loses_the_flow_and_meets_no_target(self):
        result = passing()
        for f in result["flows"][:2]:
            f.update(paid=999, error=1)
        self.assertEqual(verdict_of(result, "fastest level on the full flow")[0],
                         targets.NOT_MET)
        self.assertEqual(verdict_of(result, "server CPU")[0], targets.NOT_MEASURED)
        verdict, detail = verdict_of(result, "flow p99")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertIn("999 of 1,000 paid", detail)

    def test_flows_at_other_concurrencies_do_not_count(self):
        result = passing()
        result["flows"] = [flow(TB, 200, 9000, 10.0, 50), flow(PG, 200, 1000, 10.0, 50),
                           flow(PG, 10, 99999, 1.0, 50), flow(TB, 10, 1, 1.0, 50)]
        self.assertEqual(verdict_of(result, "fastest level on the full flow")[0], targets.MET)
        self.assertEqual(verdict_of(result, "flow ≥ 4,000")[0], targets.NOT_MEASURED)
        self.assertEqual(verdict_of(result, "server CPU")[0], targets.NOT_MEASURED)
        self.assertEqual(verdict_of(result, "flow p99")[0], targets.NOT_MEASURED)

    def test_a_flow_level_3_did_not_run_is_lost(self):
        result = passing()
        del result["flows"][1]
        verdict, detail = verdict_of(result, "fastest level on the full flow")
        self.assertEqual(verdict, targets.NOT_MET)
        self.assertIn("300 fans: no level-3 flow", detail)

    def test_a_flow_without_the_servers_cpu_is_not_measured(self):
        result = passing()
        for f in result["flows"][:2]:
            f["server_cpu_us_per_ticket"] = None
        self.assertEqual(verdict_of(result, "server CPU")[0], targets.NOT_MEASURED)

    def test_a_result_it_cannot_read_still_gets_a_table(self):
        result = passing()
        del result["flows"][0]["paid"]
        rows = targets.judge_or_say_why(result)
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][1], targets.NOT_MEASURED)
        self.assertIn("KeyError", rows[0][2])
        self.assertIn("| every target | not measured |", "\n".join(targets.markdown(result)))


class FromTheCommandLine(unittest.TestCase):
    def run_targets(self, *args):
        return subprocess.run([sys.executable, os.path.join(ROOT, "bench", "targets.py"), *args],
                              capture_output=True, text=True)

    def test_prints_the_table_of_a_file(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "r.json")
            result = copy.deepcopy(passing())
            result["flows"][1]["server_cpu_us_per_ticket"] = 101
            result["flows"][0]["server_cpu_us_per_ticket"] = 120
            with open(path, "w") as f:
                json.dump(result, f)
            done = self.run_targets(path)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("commit aaaaaaa", done.stdout)
        self.assertIn("| server CPU ≤ 100 µs per ticket | not met | 100 fans: 120 µs; 300 fans: "
                      "101 µs (1.01× the goal at best) |", done.stdout)

    def test_a_missing_or_foreign_file_exits_2(self):
        self.assertEqual(self.run_targets("/nonexistent/r.json").returncode, 2)
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "r.json")
            with open(path, "w") as f:
                json.dump({"runs": [{"level": TB}]}, f)
            done = self.run_targets(path)
        self.assertEqual(done.returncode, 2)
        self.assertIn("KeyError", done.stderr)
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "r.json")
            with open(path, "w") as f:
                json.dump({"date": "x"}, f)
            done = self.run_targets(path)
        self.assertEqual(done.returncode, 2)
        self.assertIn("not a benchmark result", done.stderr)


if __name__ == "__main__":
    unittest.main()

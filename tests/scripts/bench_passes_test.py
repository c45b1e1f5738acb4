#!/usr/bin/python3
"""bench/run_bench.py's schedule of the levels (run_levels), with the steps that start stacks
replaced by recorders: each repeat a pass over the levels, every other pass in reverse order,
the flows after the passes in level order, and what a skipped or failed level keeps."""
import argparse
import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import run_bench  # noqa: E402

LEVELS = [{"name": "pg/pg", "ACCT_BACKEND": "pg"}, {"name": "pg/redis", "ACCT_BACKEND": "pg"},
          {"name": "tb/redis", "ACCT_BACKEND": "tb"}]


def options(repeat, flow_stack="fresh"):
    return argparse.Namespace(repeat=repeat, flow_stack=flow_stack, flow_total=100,
                              flow_concurrency=[100])


def empty_result():
    return {"levels": [], "skipped": {}, "failed": {}, "runs": [], "flows": [], "tb_floor": None}


class Schedule(unittest.TestCase):
    """Records the order of the steps; `faults` maps (step, level, repeat) to an exception."""

    def setUp(self):
        self.steps, self.faults = [], {}
        saved = {name: getattr(run_bench, name)
                 for name in ("run_general", "run_seats", "run_fresh_flows")}
        self.addCleanup(lambda: [setattr(run_bench, n, f) for n, f in saved.items()])
        run_bench.run_general = self.general
        run_bench.run_seats = self.seats
        run_bench.run_fresh_flows = self.flows

    def record(self, step, level, repeat=None):
        self.steps.append((step, level["name"], repeat))
        fault = self.faults.get((step, level["name"], repeat))
        if fault:
            raise fault

    def general(self, level, _options, _workdir, repeat):
        self.record("general", level, repeat)
        floor = {"of": level["name"]} if level["ACCT_BACKEND"] == "tb" and repeat == 0 else None
        return [{"level": level["name"], "phase": "reserve", "repeat": repeat}], [], floor

    def seats(self, level, _options, _workdir, repeat):
        self.record("seats", level, repeat)
        if ("seat failure", level["name"], repeat) in self.faults:
            return [], f"seat stack {repeat} failed"
        return [{"level": level["name"], "phase": "seats", "repeat": repeat}], None

    def flows(self, level, _options, _workdir, floor):
        self.record("flows", level)
        return [{"level": level["name"], "floor": floor}]

    def run_levels(self, opts, levels=LEVELS):
        result = empty_result()
        run_bench.run_levels(levels, opts, "/nonexistent", result)
        return result

    def test_every_other_pass_runs_the_levels_in_reverse_and_the_flows_follow(self):
        result = self.run_levels(options(3))
        general = [(name, repeat) for step, name, repeat in self.steps if step == "general"]
        self.assertEqual(general, [("pg/pg", 0), ("pg/redis", 0), ("tb/redis", 0),
                                   ("tb/redis", 1), ("pg/redis", 1), ("pg/pg", 1),
                                   ("pg/pg", 2), ("pg/redis", 2), ("tb/redis", 2)])
        # Each level's seat pass right after its general one, the flows after every pass.
        self.assertEqual(self.steps[:2], [("general", "pg/pg", 0), ("seats", "pg/pg", 0)])
        self.assertEqual(self.steps[-3:], [("flows", "pg/pg", None), ("flows", "pg/redis", None),
                                           ("flows", "tb/redis", None)])
        self.assertEqual(result["levels"], ["pg/pg", "pg/redis", "tb/redis"])
        self.assertEqual(len(result["runs"]), 3 * 3 * 2)
        self.assertEqual([r["level"] for r in result["runs"][:6]], ["pg/pg"] * 6)
        self.assertEqual(result["tb_floor"], {"of": "tb/redis"})
        # The ticket mix after level 3's flows goes into the floor of its first pass.
        self.assertEqual(result["flows"][2]["floor"], {"of": "tb/redis"})
        self.assertEqual(result["failed"], {})

    def test_one_repeat_is_one_pass_in_level_order(self):
        self.run_levels(options(1))
        self.assertEqual([(s, n) for s, n, _ in self.steps if s != "seats"],
                         [("general", "pg/pg"), ("general", "pg/redis"),
                          ("general", "tb/redis"), ("flows", "pg/pg"), ("flows", "pg/redis"),
                          ("flows", "tb/redis")])

    def test_a_level_that_cannot_run_is_skipped_and_never_tried_again(self):
        self.faults[("general", "tb/redis", 0)] = run_bench.LevelUnavailable("no binary")
        result = self.run_levels(options(2))
        self.assertEqual(result["skipped"], {"tb/redis": "no binary"})
        self.assertNotIn("tb/redis", {name for _, name, r in self.steps if r != 0})
        self.assertEqual(result["levels"], ["pg/pg", "pg/redis"])
        self.assertIsNone(result["tb_floor"])

    def test_a_level_failing_in_a_later_pass_keeps_none_of_its_runs(self):
        self.faults[("general", "pg/redis", 1)] = RuntimeError("server did not start")
        result = self.run_levels(options(2))
        self.assertEqual(result["failed"], {"pg/redis": "server did not start"})
        self.assertEqual(result["levels"], ["pg/pg", "tb/redis"])
        self.assertNotIn("pg/redis", {r["level"] for r in result["runs"] + result["flows"]})
        self.assertNotIn(("flows", "pg/redis", None), self.steps)

    def test_a_failed_flow_stack_fails_the_level(self):
        self.faults[("flows", "pg/pg", None)] = RuntimeError("load client failed")
        result = self.run_levels(options(2))
        self.assertEqual(result["failed"], {"pg/pg": "load client failed"})
        self.assertEqual(result["levels"], ["pg/redis", "tb/redis"])

    def test_a_failed_seat_stack_leaves_the_general_runs_and_is_named_once(self):
        self.faults[("seat failure", "pg/pg", 0)] = True
        self.faults[("seat failure", "pg/pg", 1)] = True
        result = self.run_levels(options(2))
        self.assertEqual(result["failed"], {"pg/pg seats": "seat stack 0 failed"})
        self.assertIn("pg/pg", result["levels"])
        phases = [r["phase"] for r in result["runs"] if r["level"] == "pg/pg"]
        self.assertEqual(phases, ["reserve", "reserve"])

    def test_shared_flows_run_on_the_first_pass_stack_and_not_apart(self):
        self.run_levels(options(2, flow_stack="shared"))
        self.assertNotIn("flows", {step for step, _, _ in self.steps})


if __name__ == "__main__":
    unittest.main()

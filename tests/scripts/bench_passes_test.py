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

    def general(self, level, _options, _workdir, repeat, floor):
        self.record("general", level, repeat)
        if level["ACCT_BACKEND"] == "tb" and repeat == 0:
            floor = {"of": level["name"]}
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

    def test_a_failed_seat_stack_is_not_tried_again_and_drops_the_seat_runs(self):
        self.faults[("seat failure", "pg/pg", 1)] = True
        result = self.run_levels(options(3))
        self.assertEqual(result["failed"], {"pg/pg seats": "seat stack 1 failed"})
        self.assertIn("pg/pg", result["levels"])
        self.assertNotIn(("seats", "pg/pg", 2), self.steps)
        phases = [r["phase"] for r in result["runs"] if r["level"] == "pg/pg"]
        self.assertEqual(phases, ["reserve", "reserve", "reserve"])
        self.assertIn("seats", [r["phase"] for r in result["runs"] if r["level"] == "pg/redis"])

    def test_no_flows_apart_with_shared_flows(self):
        self.run_levels(options(2, flow_stack="shared"))
        self.assertNotIn("flows", {step for step, _, _ in self.steps})

    def test_the_ticket_mix_gets_a_stack_of_its_own_without_flows(self):
        opts = options(1)
        opts.flow_total = 0
        self.run_levels(opts)
        self.assertEqual([s for s in self.steps if s[0] == "flows"], [("flows", "tb/redis", None)])


class FakeStack:
    """Stands in for BenchStack: records the stacks started, by name and venue."""
    started = []

    def __init__(self, level, _workdir, _build_dir, env_extra, name=None):
        self.level, self.name, self.venue = level["name"], name, env_extra.get("VENUE", "")

    def __enter__(self):
        FakeStack.started.append((self.name, self.venue))
        return self

    def __exit__(self, *exc):
        FakeStack.started.append(("stopped", self.name))


class PassesOnStacks(unittest.TestCase):
    """The real passes (run_general, run_seats, run_fresh_flows) on fake stacks, with the
    measurements inside a stack replaced by recorders."""

    def setUp(self):
        FakeStack.started = []
        self.measured = []
        names = ("BenchStack", "tb_floor", "run_pairs", "run_flows", "tb_ticket_mix")
        saved = {name: getattr(run_bench, name) for name in names}
        self.addCleanup(lambda: [setattr(run_bench, n, f) for n, f in saved.items()])
        run_bench.BenchStack = FakeStack
        run_bench.tb_floor = lambda _options, _workdir: self.measure("floor") or {}
        run_bench.run_pairs = self.pairs
        run_bench.run_flows = lambda stack, level, _options: self.measure("flows", stack) or [
            {"level": level["name"]}]
        run_bench.tb_ticket_mix = lambda stack, _options: self.measure("mix", stack) or "mix"

    def measure(self, what, stack=None):
        self.measured.append((what, stack.name if stack else None))

    def pairs(self, stack, level, _options, pairs, repeat):
        self.measure("+".join(p[0] for p in pairs), stack)
        return [{"level": level["name"], "phase": pair[0], "repeat": repeat} for pair in pairs]

    def options(self, flow_stack="fresh"):
        return argparse.Namespace(repeat=2, flow_stack=flow_stack, flow_total=100,
                                  flow_concurrency=[100], capacity=1000, venue="stadium",
                                  build_dir="/nonexistent",
                                  pairs=[["checkout", "webhook"], ["seats", "seats-304"]])

    def run_levels(self, opts):
        result = empty_result()
        run_bench.run_levels([LEVELS[0], LEVELS[2]], opts, "/nonexistent", result)
        return result

    def test_each_pass_on_stacks_of_its_own_and_the_floor_before_the_first(self):
        result = self.run_levels(self.options())
        started = [entry for entry in FakeStack.started if entry[0] != "stopped"]
        self.assertEqual(started, [("pg_pg", ""), ("pg_pg_seats", "stadium"),
                                   ("tb_redis", ""), ("tb_redis_seats", "stadium"),
                                   ("tb_redis_1", ""), ("tb_redis_seats_1", "stadium"),
                                   ("pg_pg_1", ""), ("pg_pg_seats_1", "stadium"),
                                   ("pg_pg_flow", ""), ("tb_redis_flow", "")])
        tb = [m for m in self.measured if m[1] and m[1].startswith("tb_redis")]
        self.assertEqual(tb, [("checkout", "tb_redis"), ("seats", "tb_redis_seats"),
                              ("checkout", "tb_redis_1"), ("seats", "tb_redis_seats_1"),
                              ("flows", "tb_redis_flow"), ("mix", "tb_redis_flow")])
        self.assertEqual(self.measured.count(("floor", None)), 1)
        self.assertLess(self.measured.index(("floor", None)),
                        self.measured.index(("checkout", "tb_redis")))
        self.assertEqual(result["tb_floor"], {"tickets": "mix"})
        self.assertEqual(sorted((r["level"], r["phase"], r["repeat"]) for r in result["runs"]),
                         [(level, phase, repeat) for level in ("pg/pg", "tb/redis")
                          for phase in ("checkout", "seats") for repeat in (0, 1)])
        # Every stack started was stopped, before the next started.
        self.assertEqual(FakeStack.started[1::2], [("stopped", name) for name, _ in started])

    def test_shared_flows_follow_the_last_pass_on_its_stack(self):
        result = self.run_levels(self.options("shared"))
        flows = [m for m in self.measured if m[0] in ("flows", "mix")]
        self.assertEqual(flows, [("flows", "tb_redis_1"), ("mix", "tb_redis_1"),
                                 ("flows", "pg_pg_1")])
        self.assertNotIn("tb_redis_flow", [name for name, _ in FakeStack.started])
        self.assertEqual(len(result["flows"]), 2)


if __name__ == "__main__":
    unittest.main()

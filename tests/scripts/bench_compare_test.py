#!/usr/bin/python3
"""Runs bench/compare.py on the two small results of tests/fixtures/bench_compare/: the rows
both files hold, means over the repeats, the change in percent with its mark, the threshold,
and a non-zero exit for a missing, garbled or foreign file."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPARE = os.path.join(ROOT, "bench", "compare.py")
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "bench_compare")
A = os.path.join(FIXTURES, "a.json")
B = os.path.join(FIXTURES, "b.json")


def compare(*args):
    return subprocess.run([sys.executable, COMPARE, *args], capture_output=True, text=True)


def row(output, level, phase):
    """The table row of level and phase."""
    for line in output.splitlines():
        cells = line.split()
        if cells[:2] == [level, phase]:
            return line
    raise AssertionError(f"no row {level} {phase} in:\n{output}")


class ComparesTheRowsInBoth(unittest.TestCase):
    def setUp(self):
        self.result = compare(A, B)
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.output = self.result.stdout

    def test_names_both_files(self):
        self.assertIn("A: 2026-01-01T00:00:00+00:00, commit aaaaaaa", self.output)
        self.assertIn("B: 2026-01-02T00:00:00+00:00, commit bbbbbbb", self.output)

    def test_a_row_holds_the_means_and_marks_what_got_worse_or_better(self):
        checkout = row(self.output, "tb/redis", "checkout")
        # A's two repeats: 1000 and 1200 ops/s, 300 and 320 µs per operation.
        self.assertIn("1,100", checkout)
        self.assertIn("-20.0% !", checkout)  # Throughput: 1,100 to 880.
        self.assertIn("+5.0%", checkout)  # p50: 2.0 to 2.1 ms, within the threshold.
        self.assertNotIn("+5.0% !", checkout)
        self.assertIn("-20.0% +", checkout)  # p99: 10 to 8 ms.
        self.assertIn("+20.0% !", checkout)  # Server CPU: 310 to 372 µs per operation.

    def test_an_older_file_without_the_cpu_reads_as_no_change(self):
        webhook = row(self.output, "tb/redis", "webhook")
        self.assertIn("+50.0% !", webhook)  # p50: 4 to 6 ms.
        self.assertEqual(webhook.split()[-3:], ["-", "500", "-"])

    def test_the_flow_is_compared_too(self):
        flow = row(self.output, "tb/redis", "flow")
        self.assertIn("+5.0%", flow)
        self.assertNotIn("!", flow)

    def test_rows_in_one_file_only_are_left_out(self):
        phases = [line.split()[1] for line in self.output.splitlines()
                  if line.startswith("tb/redis")]
        self.assertEqual(phases, ["checkout", "webhook", "flow"])

    def test_counts_what_got_worse(self):
        self.assertIn("(3 of them)", self.output)

    def test_a_higher_threshold_marks_less(self):
        result = compare(A, B, "--threshold", "25")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("!", row(result.stdout, "tb/redis", "checkout"))
        self.assertIn("+50.0% !", row(result.stdout, "tb/redis", "webhook"))
        self.assertIn("(1 of them)", result.stdout)


class SaysHowGeneralAdmissionRan(unittest.TestCase):
    """Files that record the seat phases' `venue` ran general admission without one; older
    files ran it on the seat phases' server. A comparison across the two says so."""

    def test_files_of_the_same_setup_compare_without_a_warning(self):
        result = compare(A, B)
        self.assertIn("general admission on the seat phases' server", result.stdout)
        self.assertNotIn("differently set up", result.stderr)

    def test_a_change_of_setup_is_named(self):
        with open(B) as f:
            newer = json.load(f)
        newer["venue"] = "stadium"
        handle, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(handle, "w") as f:
            json.dump(newer, f)
        self.addCleanup(os.remove, path)
        result = compare(A, path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("B: 2026-01-02T00:00:00+00:00, commit bbbbbbb", result.stdout)
        self.assertIn("general admission without a venue", result.stdout)
        self.assertIn("differently set up", result.stderr)


class RefusesWhatIsNotAResult(unittest.TestCase):
    def write(self, text):
        handle, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(handle, "w") as f:
            f.write(text)
        self.addCleanup(os.remove, path)
        return path

    def assert_refused(self, path, code=2):
        for args in ((A, path), (path, B)):
            result = compare(*args)
            self.assertEqual(result.returncode, code, result.stdout)
            self.assertIn("compare:", result.stderr)
            self.assertEqual(result.stdout, "")

    def test_a_missing_file(self):
        self.assert_refused(os.path.join(FIXTURES, "no-such-file.json"))

    def test_garbled_json(self):
        with open(A) as f:
            self.assert_refused(self.write(f.read()[:200]))

    def test_json_that_is_not_a_result(self):
        self.assert_refused(self.write("[1, 2, 3]"))

    def test_a_run_without_its_latency(self):
        with open(A) as f:
            result = json.load(f)
        del result["runs"][0]["latency"]
        self.assert_refused(self.write(json.dumps(result)))

    def test_files_with_nothing_in_common(self):
        with open(A) as f:
            result = json.load(f)
        for run in result["runs"] + result["flows"]:
            run["level"] = "pg/pg"
        self.assert_refused(self.write(json.dumps(result)), code=1)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""Checks when tests/scripts/sanitized_run.py runs a sanitized suite again: only when every
test passed and LeakSanitizer's tracer crashed; never on a leak, a failed test or an ASan
error. The script itself runs on shell commands that print such output: it runs again at
most twice, and the first run that is not such a crash decides."""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sanitized_run  # noqa: E402

PASSED = "[==========] 3 tests ran.\n[  PASSED  ] 3 tests.\n"
CRASH = ("Tracer caught signal 11: addr=0x6688 pc=0x7f sp=0x7f\n"
         "==951==LeakSanitizer has encountered a fatal error.\n")


class OnlyTheTracerCrashed(unittest.TestCase):
    def test_a_tracer_crash_after_passing_tests_is_retried(self):
        self.assertTrue(sanitized_run.only_the_tracer_crashed(1, PASSED + CRASH))

    def test_a_clean_run_is_not_retried(self):
        self.assertFalse(sanitized_run.only_the_tracer_crashed(0, PASSED))

    def test_a_leak_report_fails(self):
        leak = "==9==ERROR: LeakSanitizer: detected memory leaks\n"
        self.assertFalse(sanitized_run.only_the_tracer_crashed(23, PASSED + leak + CRASH))

    def test_a_failed_test_fails(self):
        failed = "[  FAILED  ] Suite.Test\n"
        self.assertFalse(sanitized_run.only_the_tracer_crashed(1, PASSED + failed + CRASH))

    def test_an_address_error_fails(self):
        error = "==9==ERROR: AddressSanitizer: heap-use-after-free\n"
        self.assertFalse(sanitized_run.only_the_tracer_crashed(1, PASSED + error + CRASH))

    def test_a_crash_before_the_tests_finished_fails(self):
        self.assertFalse(sanitized_run.only_the_tracer_crashed(1, "[ RUN      ] A.B\n" + CRASH))


class RetriesAtMostTwice(unittest.TestCase):
    def run_script(self, shell):
        return subprocess.run([sys.executable, os.path.join(HERE, "sanitized_run.py"),
                               "/bin/sh", "-c", shell], capture_output=True, text=True)

    def test_a_third_tracer_crash_fails(self):
        text = (PASSED + CRASH).replace("\n", "\\n")
        result = self.run_script(f"printf '{text}'; exit 1")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout.count("Tracer caught signal"), 3)
        self.assertIn("running again (2 of 2)", result.stdout)

    def test_the_retry_decides(self):
        marker = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"sanitized_run_{os.getpid()}")
        text = (PASSED + CRASH).replace("\n", "\\n")
        shell = (f"if [ -e {marker} ]; then rm {marker}; printf '{PASSED.splitlines()[1]}'; "
                 f"exit 0; fi; touch {marker}; printf '{text}'; exit 1")
        result = self.run_script(shell)
        self.assertEqual(result.returncode, 0, result.stdout)

    def test_a_failing_suite_is_not_run_twice(self):
        result = self.run_script("echo '[  FAILED  ] A.B'; exit 1")
        self.assertEqual(result.returncode, 1)
        self.assertNotIn("running again", result.stdout)


if __name__ == "__main__":
    unittest.main()

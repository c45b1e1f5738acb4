#!/usr/bin/python3
"""Runs a GoogleTest binary built with AddressSanitizer and passes its exit code on, with one
exception: when every test passed and the only failure is LeakSanitizer's own stop-the-world
tracer crashing at exit ("Tracer caught signal 11 ... LeakSanitizer has encountered a fatal
error"), the leak check never ran. That crash is intermittent and inside the sanitizer runtime
(more frequent under load, with TigerBeetle's client threads exiting), so the binary runs again,
at most twice more, and the first run that does not end so decides. A leak report, a failed
test or a third tracer crash fails as before.

usage: sanitized_run.py BINARY [ARG...]
"""
import subprocess
import sys

TRACER_CRASH = "Tracer caught signal"
LSAN_FATAL = "LeakSanitizer has encountered a fatal error"
LEAK_REPORT = "ERROR: LeakSanitizer: detected memory leaks"
RERUNS_MAX = 2


def only_the_tracer_crashed(returncode, output):
    """True when the run failed solely because LeakSanitizer's tracer crashed after the tests."""
    if returncode == 0:
        return False
    if TRACER_CRASH not in output or LSAN_FATAL not in output or LEAK_REPORT in output:
        return False
    if "[  FAILED  ]" in output or "ERROR: AddressSanitizer" in output:
        return False
    return "[  PASSED  ]" in output


def run(command):
    """Runs `command`, echoing its output as it comes; returns (exit code, output)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace")
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    return process.wait(), "".join(lines)


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    returncode, output = run(argv[1:])
    for rerun in range(1, RERUNS_MAX + 1):
        if not only_the_tracer_crashed(returncode, output):
            break
        print("sanitized_run: every test passed but LeakSanitizer's tracer crashed before the "
              "leak check (a sanitizer runtime fault, not a leak); running again "
              f"({rerun} of {RERUNS_MAX})", flush=True)
        returncode, output = run(argv[1:])
    return returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))

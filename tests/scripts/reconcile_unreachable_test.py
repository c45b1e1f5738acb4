#!/usr/bin/python3
"""`tigerfans reconcile` against a TigerBeetle address where nothing listens: the attach gives
up after the ledger's start-up timeout (15 s) and the command exits 1 naming the ledger. The
cluster never times a request out, so the lookup the attach gave up on stays in the client
until the ledger is stopped; a run that did not stop it waited for good."""
import os
import socket
import subprocess
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("TIGERFANS_BUILD_DIR", os.path.join(ROOT, "build"))
START_TIMEOUT_S = 15  # limits::tb_start_timeout_ms
GIVE_UP_S = START_TIMEOUT_S + 30


def closed_port():
    """A loopback port that was free a moment ago: nothing answers there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ReconcileWithoutALedger(unittest.TestCase):
    def test_exits_once_the_attach_gives_up(self):
        env = dict(os.environ, ACCT_BACKEND="tb", TB_ADDRESS=f"127.0.0.1:{closed_port()}",
                   DATABASE_URL="postgresql:///unused?host=/nonexistent")
        began = time.monotonic()
        try:
            result = subprocess.run([os.path.join(BUILD_DIR, "tigerfans"), "reconcile"], env=env,
                                    capture_output=True, text=True, timeout=GIVE_UP_S)
        except subprocess.TimeoutExpired:
            self.fail(f"tigerfans reconcile still ran after {GIVE_UP_S} s")
        took = time.monotonic() - began
        self.assertEqual(result.returncode, 1, result.stderr[-2000:])
        self.assertIn("cannot reach the ledger", result.stderr)
        self.assertGreaterEqual(took, START_TIMEOUT_S - 1)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""The floor probe at a few dozen requests per batch size, then its ticket mix for a few
requests, against a throwaway TigerBeetle replica.

Usage: smoke.py PATH/TO/tigerfans-tb-floor. Needs TIGERBEETLE_BIN (a TigerBeetle 0.17.8 server
binary); without it the check prints why it is skipped and exits 77, which ctest counts as
skipped. The replica is formatted and started by tigerbeetle/start.sh on a free port in a
temporary folder and stopped again, whatever happens.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIPPED = 77
REPLICA_START_TIMEOUT_S = 60
BATCH_SIZES = [1, 10, 100, 1000, 8189]
# --repetitions 60 --size-transfers 500: the 60 requests of one transfer carry fewer than 500;
# every larger size would carry more and gets the 50 requests a size never goes below.
REPETITIONS, SIZE_TRANSFERS = 60, 500
EXPECTED_REQUESTS = [60, 50, 50, 50, 50]
IN_FLIGHT = [1, 2, 4, 8]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, replica):
    deadline = time.time() + REPLICA_START_TIMEOUT_S
    while time.time() < deadline and replica.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(replica):
    if replica.poll() is None:
        os.killpg(replica.pid, signal.SIGKILL)
    replica.wait()


def check(report):
    """The problems of a probe's report: every batch size and in-flight level answered."""
    problems = [] if not report["error"] else [report["error"]]
    sizes = [row["transfers"] for row in report["round_trip"] if not row["refused"]]
    if sizes != BATCH_SIZES:
        problems.append(f"round trips for {sizes}, expected {BATCH_SIZES}")
    requests = [row["requests"] for row in report["round_trip"]]
    if requests != EXPECTED_REQUESTS:
        problems.append(f"requests per batch size {requests}, expected {EXPECTED_REQUESTS}")
    levels = [row["in_flight"] for row in report["throughput"] if row["transfers_per_s"] > 0]
    if levels != IN_FLIGHT:
        problems.append(f"throughput for {levels} in flight, expected {IN_FLIGHT}")
    return problems


TICKET_REQUESTS = 5
TICKETS_PER_REQUEST = 28


def check_tickets(report):
    """The problems of a ticket-mix report: every request answered (the holds' and one more for
    the last posts) and every ticket held and posted (the probe checks the ledger's balance)."""
    problems = [] if not report["error"] else [report["error"]]
    mix = report.get("tickets")
    if not mix:
        return problems + ["no ticket mix in the report"]
    if mix["requests"] != TICKET_REQUESTS + 1:
        problems.append(f"{mix['requests']} ticket-mix requests, expected {TICKET_REQUESTS + 1}")
    if mix["tickets"] != TICKET_REQUESTS * TICKETS_PER_REQUEST or mix["tickets_per_s"] <= 0:
        problems.append(f"ticket mix: {mix['tickets']} tickets at {mix['tickets_per_s']}/s")
    if report["round_trip"] or report["throughput"]:
        problems.append("the ticket mix ran the other sections too")
    return problems


def main():
    probe = sys.argv[1]
    if not os.access(os.environ.get("TIGERBEETLE_BIN", ""), os.X_OK):
        print("tb_floor_smoke: skipped: no TigerBeetle server binary; run it with "
              "TIGERBEETLE_BIN=/path/to/tigerbeetle")
        return SKIPPED
    work = tempfile.mkdtemp(prefix="tigerfans-tb-floor-")
    port = free_port()
    log = open(os.path.join(work, "tigerbeetle.log"), "w")
    replica = subprocess.Popen([os.path.join(ROOT, "tigerbeetle/start.sh"), work, str(port)],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not wait_listening(port, replica):
            log.flush()
            print(open(log.name).read()[-2000:])
            print("tb_floor_smoke: the replica did not start")
            return 1
        out = os.path.join(work, "floor.json")
        done = subprocess.run([probe, "--address", f"127.0.0.1:{port}", "--repetitions",
                               str(REPETITIONS), "--size-transfers", str(SIZE_TRANSFERS),
                               "--requests", "16", "--json", out], timeout=120)
        if done.returncode != 0:
            print(f"tb_floor_smoke: the probe exited {done.returncode}")
            return 1
        with open(out) as f:
            problems = check(json.load(f))
        tickets_out = os.path.join(work, "tickets.json")
        done = subprocess.run([probe, "--address", f"127.0.0.1:{port}", "--tickets",
                               str(TICKET_REQUESTS), "--json", tickets_out], timeout=120)
        if done.returncode != 0:
            problems.append(f"the probe's ticket mix exited {done.returncode}")
        else:
            with open(tickets_out) as f:
                problems += check_tickets(json.load(f))
        for problem in problems:
            print(f"tb_floor_smoke: {problem}")
        return 1 if problems else 0
    finally:
        stop(replica)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The benchmark matrix behind `make bench`.

For each available level (1 pg/pg, 2 pg/redis, 3 tb/redis when a TigerBeetle server binary is
available) it starts fresh services and a fresh server, runs the load client's phases
(checkout, webhook, reserve, commit) at a list of concurrencies, repeated, then full-flow runs
on a second stack of fresh services, and scrapes /metrics around every run for the server-side
component timings and the batch sizes per store. Every phase run records its p50 and p99
latency and the server's CPU time per successful operation (server_cpu_us_per_op: utime +
stime of /proc/<pid>/stat, read by the load client around the phase); the flow run records
server_cpu_us_per_ticket. At level 3 it first measures the TigerBeetle floor on a replica
started for the probe alone (tigerfans-tb-floor, bench/tb_floor/, built with
-DTIGERFANS_BENCHMARKS=ON), and after the flows the probe's ticket mix on the flows' replica
with the replica's CPU per ticket. At the levels of --queue-levels another stack runs the
waiting room (WAITING_ROOM=on, the sale opening --queue-opens-after seconds after the start,
the pre-queue open from the start) under the load client's queue mode: join throughput, the
admission rate against ADMIT_PER_SECOND, Kendall's tau of join order against admission order
among pre-queue and later fans, and checkouts with missing, forged and used-up tokens, each
checked against its target. Results land in bench/results/ as JSON and CSV with the machine,
the commit and the date; latest.json is what the /bench page draws. The summary (.md) ends
with level 3 against its speed targets (bench/targets.py), which the log repeats.

Standard library only. `--tiny` runs a seconds-long version (part of the test suite).
"""

import argparse
import csv
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from stack import (LEVELS, ROOT, LevelUnavailable, Stack, commit, free_port,  # noqa: E402
                   machine, pid_listens)
import targets  # noqa: E402  (beside this file)

PHASE_PAIRS = [["checkout", "webhook"], ["reserve", "commit"], ["seats", "seats-304"],
               ["seat-holds", "seat-voids"]]
METRICS_TOKEN = "bench-metrics-token"  # The server under test gets it; /metrics asks for it.
# Metric families whose deltas are recorded around every run.
BATCH_FAMILIES = {
    "tigerfans_tb_batch_events": "tigerbeetle",
    "tigerfans_pg_batch_items": "postgres",
    "tigerfans_redis_pipeline_commands": "redis",
}
COMPONENT_FAMILY = "tigerfans_component_seconds"
SERIES = re.compile(r'^([a-z_]+?)(_bucket|_sum|_count)?(?:\{(.*)\})? ([0-9.eE+-]+|\+Inf|NaN)$')


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def parse_metrics(text):
    """Prometheus text to {(family, labels-without-le): {"count", "sum", "buckets": {le: n}}}."""
    series = {}
    for line in text.splitlines():
        match = SERIES.match(line)
        if not match:
            continue
        family, suffix, labels, value = match.groups()
        labels = labels or ""
        le = None
        parts = [p for p in labels.split(",") if p]
        for part in parts:
            if part.startswith("le="):
                le = part[4:-1]
        key = (family, ",".join(p for p in parts if not p.startswith("le=")))
        entry = series.setdefault(key, {"count": 0.0, "sum": 0.0, "buckets": {}, "value": 0.0})
        number = float(value) if value not in ("+Inf", "NaN") else float("inf")
        if suffix == "_bucket":
            entry["buckets"][le] = number
        elif suffix == "_sum":
            entry["sum"] = number
        elif suffix == "_count":
            entry["count"] = number
        else:
            entry["value"] = number
    return series


def delta(before, after):
    out = {}
    for key, now in after.items():
        then = before.get(key, {"count": 0.0, "sum": 0.0, "buckets": {}, "value": 0.0})
        out[key] = {
            "count": now["count"] - then["count"],
            "sum": now["sum"] - then["sum"],
            "buckets": {le: n - then["buckets"].get(le, 0.0) for le, n in now["buckets"].items()},
        }
    return out


def server_side(before, after):
    """Component timings and batch sizes between two scrapes."""
    changes = delta(before, after)
    components, batches = {}, {}
    for (family, labels), d in changes.items():
        if d["count"] <= 0:
            continue
        if family == COMPONENT_FAMILY:
            name = labels.split('"')[1] if '"' in labels else labels
            components[name] = {"count": int(d["count"]), "mean_s": d["sum"] / d["count"]}
        elif family in BATCH_FAMILIES:
            store = BATCH_FAMILIES[family] + (f" {labels.split(chr(34))[1]}" if '"' in labels else "")
            cumulative, previous, histogram = sorted(d["buckets"].items(), key=lambda kv: float(kv[0])), 0, {}
            for le, n in cumulative:
                histogram[le] = int(n - previous)
                previous = n
            batches[store] = {"batches": int(d["count"]), "mean": d["sum"] / d["count"],
                              "histogram": histogram}
    return components, batches


class BenchStack(Stack):
    """A level's stack whose server's /metrics can be scraped."""

    def scrape(self):
        scrape = urllib.request.Request(self.url("/metrics"),
                                        headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        with urllib.request.urlopen(scrape, timeout=10) as r:
            return parse_metrics(r.read().decode())

    @property
    def venue(self):
        """The server's VENUE: empty when it has none."""
        return self.env_extra.get("VENUE", "")


def process_cpu_seconds(stack):
    """CPU seconds (user + system) so far of the server (all its processes) and of each service
    of the stack, found by its data folder: the postmaster (postgres/postmaster.pid) with its
    backends, and the redis-server and tigerbeetle processes whose command line names the
    folder."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        with open(os.path.join(stack.data, "postgres", "postmaster.pid")) as f:
            postmaster = int(f.readline())
    except (OSError, ValueError):
        postmaster = None
    seconds = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # Gone meanwhile.
        parent, cpu = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if any(server and int(pid) == server.pid for server in stack.servers):
            kind = "server"
        elif postmaster in (int(pid), parent):
            kind = "postgres"
        elif stack.data in command and command.startswith("redis-server"):
            kind = "redis"
        elif stack.data in command and "tigerbeetle" in command:
            kind = "tigerbeetle"
        else:
            continue
        seconds[kind] = seconds.get(kind, 0.0) + cpu
    return seconds


def per_op_us(cpu_seconds, operations):
    """Microseconds of CPU per operation, to 0.1 µs; None without a CPU reading or without
    operations."""
    if cpu_seconds is None or operations <= 0:
        return None
    return round(cpu_seconds * 1e6 / operations, 1)


def cpu_text(us_per_op, unit="op"):
    return "-" if us_per_op is None else f"{us_per_op:.0f} us CPU/{unit}"


def cpu_split(stack, args, build_dir):
    """Runs the load client and returns its report with the CPU seconds each process spent
    meanwhile, and how busy the machine was."""
    def machine_busy():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return (sum(fields[:3]) + sum(fields[5:8])) / os.sysconf("SC_CLK_TCK")
    before, busy_before = process_cpu_seconds(stack), machine_busy()
    children_before = os.times()
    report = load_client(build_dir, stack.url(""), args)
    children_after = os.times()
    after, busy_after = process_cpu_seconds(stack), machine_busy()
    cpu = {kind: round(after[kind] - before.get(kind, 0.0), 2) for kind in after}
    server = after["server"] - before["server"] if "server" in before.keys() & after else None
    report["server_cpu_us_per_ticket"] = per_op_us(server, report["total"])
    report["server_cpu_s"] = None if server is None else round(server, 2)
    cpu["load client"] = round(children_after.children_user + children_after.children_system
                               - children_before.children_user
                               - children_before.children_system, 2)
    report["cpu_seconds"] = cpu
    report["machine_busy_cpu_seconds"] = round(busy_after - busy_before, 2)
    return report


def load_client(build_dir, base_url, args):
    command = [os.path.join(build_dir, "tigerfans-load"), "--base", base_url, "--json"] + args
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise RuntimeError(f"tigerfans-load failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


FLOOR_REPLICA_START_S = 60


def wait_for_port(port, process, timeout_s):
    """Returns once `process` itself listens on 127.0.0.1:`port` (not some other process that
    took the port first); raises when it ends first or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} ended (exit {process.returncode}) before "
                               f"it listened on port {port}")
        if pid_listens(process.pid, port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{process.args[0]} did not listen on port {port} in {timeout_s} s")


def run_watched(command, process):
    """Runs `command` to its end while `process` lives: when `process` ends first, the command
    is killed (a client waiting on a replica that died would wait forever). Its CompletedProcess
    with text stderr."""
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    with child:
        while True:
            try:
                _, stderr = child.communicate(timeout=1)
                return subprocess.CompletedProcess(command, child.returncode, None, stderr)
            except subprocess.TimeoutExpired:
                if process.poll() is not None:
                    child.kill()
                    child.communicate()
                    raise RuntimeError(f"{process.args[0]} ended (exit {process.returncode}) "
                                       f"while {os.path.basename(command[0])} ran")


def stop_process_group(process):
    """SIGTERM to the process's group (it was started in a session of its own), then SIGKILL
    if it has not ended within 10 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        process.wait()
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def tb_floor(options, workdir):
    """The TigerBeetle floor: create_transfers through the server's client adapter against a
    replica started for the probe alone (tigerbeetle/start.sh, as the level's) and stopped after
    it. The probe writes some 700,000 transfers, most in requests of 8,189; on the level's own
    replica the phases and flows after it would pay for compacting them, which the PostgreSQL
    levels never meet. The probe's report, or None when the probe was not built."""
    probe = os.path.join(options.build_dir, "tigerfans-tb-floor")
    if not os.access(probe, os.X_OK):
        log(f"tb floor: skipped: {probe} not built (configure with -DTIGERFANS_BENCHMARKS=ON)")
        return None
    data = os.path.join(workdir, "tb_floor")
    out = os.path.join(data, "tb-floor.json")
    port = free_port()
    os.makedirs(data, exist_ok=True)
    replica_log_path = os.path.join(data, "replica.log")
    with open(replica_log_path, "w") as replica_log:
        replica = subprocess.Popen([os.path.join(ROOT, "tigerbeetle/start.sh"),
                                    os.path.join(data, "replica"), str(port)],
                                   stdout=replica_log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            wait_for_port(port, replica, FLOOR_REPLICA_START_S)
            done = run_watched([probe, "--address", f"127.0.0.1:{port}", "--repetitions",
                                str(options.floor_repetitions), "--requests",
                                str(options.floor_requests), "--json", out], replica)
        except RuntimeError as error:
            with open(replica_log_path, errors="replace") as f:
                raise RuntimeError(f"tb floor: {error}; the replica's log ends: "
                                   f"{f.read()[-500:].strip()}") from error
        finally:
            stop_process_group(replica)
    if done.returncode != 0:
        raise RuntimeError(f"tigerfans-tb-floor failed: {done.stderr.strip()[-500:]}")
    with open(out) as f:
        floor = json.load(f)
    for row in floor["round_trip"]:
        log(f"tb floor {row['transfers']:5} transfers/request  median "
            f"{row['latency']['median_ms']:.3f} ms  p99 {row['latency']['p99_ms']:.3f} ms")
    for row in floor["throughput"]:
        log(f"tb floor {row['in_flight']} in flight x {row['batch']}  "
            f"{row['transfers_per_s']:10.0f} transfers/s")
    return floor


def http_floor(options):
    """The HTTP floor: the load client's healthz phase against tigerfans-http-floor (a bare
    Beast server, one thread) at each flow concurrency, with that process's CPU per request.
    A list of the load client's reports, or None when the probe was not built."""
    probe = os.path.join(options.build_dir, "tigerfans-http-floor")
    if not os.access(probe, os.X_OK):
        log(f"http floor: skipped: {probe} not built (configure with -DTIGERFANS_BENCHMARKS=ON)")
        return None
    port = free_port()
    server = subprocess.Popen([probe, "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        if not server.stdout.readline().startswith("tigerfans-http-floor: listening"):
            try:
                code = server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = "none: it still ran"
            raise RuntimeError(f"tigerfans-http-floor did not start (exit {code})")
        reports = []
        for concurrency in options.flow_concurrency:
            total = max(options.min_total, options.http_floor_per_connection * concurrency)
            for report in load_client(options.build_dir, f"http://127.0.0.1:{port}",
                                      ["--phases", "healthz", "--total", str(total),
                                       "--concurrency", str(concurrency),
                                       "--server-pid", str(server.pid)]):
                report["server_cpu_us_per_op"] = per_op_us(report.get("server_cpu_s"),
                                                           report["ok"])
                reports.append(report)
                log(f"http floor c={concurrency:<5} {report['ops_per_s']:10.1f} requests/s  "
                    f"p50 {report['latency']['p50_s'] * 1e3:7.2f} ms  "
                    f"p99 {report['latency']['p99_s'] * 1e3:7.2f} ms  "
                    f"server {cpu_text(report['server_cpu_us_per_op'], 'request')}  "
                    f"errors={report['errors']}")
        return reports
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()


def tb_ticket_mix(stack, options):
    """The ledger's floor for the flow: the probe's ticket mix (two pending holds per ticket,
    posted a request later, one request in flight) on the level's replica after the load, so
    on the data the flow met, with the replica's CPU per ticket. None without the probe."""
    probe = os.path.join(options.build_dir, "tigerfans-tb-floor")
    if options.floor_tickets <= 0 or not os.access(probe, os.X_OK):
        return None
    out = os.path.join(stack.data, "tb-tickets.json")
    before = process_cpu_seconds(stack).get("tigerbeetle")
    done = subprocess.run([probe, "--address", stack.settings["TB_ADDRESS"], "--tickets",
                           str(options.floor_tickets), "--json", out],
                          capture_output=True, text=True)
    after = process_cpu_seconds(stack).get("tigerbeetle")
    if done.returncode != 0:
        # The level's runs and flows stand; the mix is recorded as failed.
        error = f"tigerfans-tb-floor --tickets failed: {done.stderr.strip()[-500:]}"
        log(f"tb tickets: {error}")
        return {"error": error}
    with open(out) as f:
        mix = json.load(f)["tickets"]
    cpu = None if before is None or after is None else after - before
    mix["replica_cpu_us_per_ticket"] = per_op_us(cpu, mix["tickets"])
    log(f"tb tickets {mix['tickets_per_request']} per request  {mix['tickets_per_s']:8.0f} "
        f"tickets/s  median {mix['latency']['median_ms']:.3f} ms  "
        f"p99 {mix['latency']['p99_ms']:.3f} ms  replica "
        f"{cpu_text(mix['replica_cpu_us_per_ticket'], 'ticket')}")
    return mix


# The phases that sell general admission (class A and B) and those that read or sell seats.
SEAT_PHASES = {"seats", "seats-304", "seat-holds", "seat-voids"}


def seat_pairs(pairs):
    """The pairs that need a venue: those with a seat phase."""
    return [pair for pair in pairs if SEAT_PHASES.intersection(pair)]


def run_pairs(stack, level, options, pairs):
    """Each of `pairs` at every concurrency and repeat against `stack`: the runs' reports."""
    runs = []
    for concurrency in options.concurrency:
        for repeat in range(options.repeat):
            for pair in pairs:
                total = max(options.min_total, options.per_connection * concurrency)
                if pair == ["seats", "seats-304"]:
                    # Answers from memory: the phases' other totals would last a few ms.
                    total = max(total, options.seat_read_total)
                before = stack.scrape()
                reports = load_client(options.build_dir, stack.url(""),
                                      ["--phases", ",".join(pair), "--total", str(total),
                                       "--concurrency", str(concurrency),
                                       "--secret", "bench-secret",
                                       "--server-pid", str(stack.server.pid)])
                components, batches = server_side(before, stack.scrape())
                for report in reports:
                    report.update(level=level["name"], repeat=repeat, venue=stack.venue,
                                  components=components, batches=batches,
                                  server_cpu_us_per_op=per_op_us(report.get("server_cpu_s"),
                                                                 report["ok"]))
                    runs.append(report)
                    log(f"{level['name']:9} {report['phase']:8} c={concurrency:<5} "
                        f"{report['ops_per_s']:10.1f} ops/s  "
                        f"p50 {report['latency']['p50_s'] * 1e3:7.2f} ms  "
                        f"p99 {report['latency']['p99_s'] * 1e3:7.2f} ms  "
                        f"server {cpu_text(report['server_cpu_us_per_op'])}  "
                        f"errors={report['errors']}"
                        + (f"  whole answers={report['whole_answers']}"
                           if report.get("whole_answers") else ""))
    return runs


def run_flows(stack, level, options):
    """The full flow at each of --flow-concurrency against `stack`: the flows' reports."""
    flows = []
    for concurrency in options.flow_concurrency if options.flow_total > 0 else []:
        before = stack.scrape()
        flow = cpu_split(stack, ["--total", str(options.flow_total), "--concurrency",
                                 str(concurrency), "--poll-interval", "0.01"],
                         options.build_dir)
        flow["components"], flow["batches"] = server_side(before, stack.scrape())
        flow["level"] = level["name"]
        flow["stack"] = options.flow_stack
        flows.append(flow)
        log(f"{level['name']:9} flow     c={concurrency:<5} "
            f"{flow['throughput_per_s']:10.1f} tickets/s  "
            f"p50 {flow['end_to_end']['p50_s'] * 1e3:7.2f} ms  "
            f"p99 {flow['end_to_end']['p99_s'] * 1e3:7.2f} ms  "
            f"server {cpu_text(flow['server_cpu_us_per_ticket'], 'ticket')}")
    return flows


def run_general(level, options, workdir, env_extra, pairs):
    """General admission without a venue: (level 3) the TigerBeetle floor on a replica of its
    own, `pairs` on a stack, the full flows and (level 3) the ticket mix after them on the
    level's replica. Its runs, flows and floor.

    With `--flow-stack fresh` (the default) the flows run on a second stack of fresh services,
    as a sale opens: not on one still paying for the phases. Each store defers work of its own
    to later (the replica compacts what the last phases wrote, paced by the requests that
    follow; PostgreSQL vacuums and checkpoints), and that debt, left by the 1,000-fan phases,
    would otherwise land on whichever flow runs first (docs/BENCHMARKS.md, "What the phases
    before a flow cost it"). `--flow-stack shared` runs them after the phases on the same stack."""
    runs, flows, floor = [], [], None
    is_tb, shared = level["ACCT_BACKEND"] == "tb", options.flow_stack == "shared"
    phases_apart = bool(pairs) and not shared  # The phases get a stack of their own.
    # The floor is measured once a stack has started (the first): a level this machine cannot
    # run (no TigerBeetle binary) is skipped by the stack's start, not failed by the probe.
    if phases_apart:
        with BenchStack(level, workdir, options.build_dir, env_extra) as stack:
            floor = tb_floor(options, workdir) if is_tb else None
            runs += run_pairs(stack, level, options, pairs)
    flows_wanted = options.flow_total > 0 and options.flow_concurrency
    if not (shared or flows_wanted or floor is not None or is_tb and not phases_apart):
        return runs, flows, floor
    name = level["name"].replace("/", "_") + ("" if shared else "_flow")
    with BenchStack(level, workdir, options.build_dir, env_extra, name=name) as stack:
        if is_tb and not phases_apart:
            floor = tb_floor(options, workdir)
        if shared:
            runs += run_pairs(stack, level, options, pairs)
        flows = run_flows(stack, level, options)
        if floor is not None:
            floor["tickets"] = tb_ticket_mix(stack, options)
    return runs, flows, floor


def run_level(level, options, workdir):
    """The level's runs, flow runs, (level 3) TigerBeetle floor, and why its seat stack failed
    (None when it ran or had nothing to run).

    General admission (the reserve, commit, checkout and webhook phases, the full flow and the
    ledger's floor) runs on stacks without a venue (`run_general`), the seat phases on another
    stack with `--venue`. At level 3 a venue's seats are ledger accounts, in the same tree as
    the few accounts every ticket updates: with the stadium the replica spent about twice the
    CPU per ticket of the flow at 100 fans, and wrote twice as much, which we put down to
    compactions rewriting the table those accounts share with the seats (docs/BENCHMARKS.md,
    "A venue's seats in the ledger"). The PostgreSQL levels keep seats in tables of their own.
    A seat stack that fails leaves the general-admission results standing."""
    runs, flows, floor, seat_failure = [], [], None, None
    capacity = str(options.capacity)
    env_extra = {"CAPACITY_A": capacity, "CAPACITY_B": capacity, "MOCK_SECRET": "bench-secret",
                 "BENCH_ENDPOINTS": "on", "METRICS_TOKEN": METRICS_TOKEN, "VENUE": ""}
    seated = seat_pairs(options.pairs)
    general = [pair for pair in options.pairs if pair not in seated]
    flows_wanted = options.flow_total > 0 and options.flow_concurrency
    if general or flows_wanted or level["ACCT_BACKEND"] == "tb":
        runs, flows, floor = run_general(level, options, workdir, env_extra, general)
    if seated:
        try:
            with BenchStack(level, workdir, options.build_dir,
                            dict(env_extra, VENUE=options.venue),
                            name=level["name"].replace("/", "_") + "_seats") as stack:
                runs += run_pairs(stack, level, options, seated)
        except RuntimeError as error:
            log(f"{level['name']}: seat phases FAILED: {error}")
            seat_failure = str(error)
    return runs, flows, floor, seat_failure


# The waiting-room scenario's flags: name, type, default, help.
QUEUE_FLAGS = [
    ("--queue-fans", int, 100_000, "simulated fans (0: no queue run)"),
    ("--queue-prequeue-share", float, 0.5, "the share of the fans joining before the sale"),
    ("--queue-rate", int, 2000, "ADMIT_PER_SECOND"),
    ("--queue-buyers", int, 1000, "admitted fans who buy"),
    ("--queue-concurrency", int, 100, "requests in flight"),
    ("--queue-opens-after", int, 25, "seconds from the stack's start to the sale's opening"),
    ("--queue-levels", str, "pg/redis", "levels it runs at (of those --levels runs)"),
    ("--queue-servers", int, 1, "server processes sharing the port (SERVER_PROCESSES)"),
]


def sale_opening(seconds_from_now):
    """SALE_OPENS_AT that many seconds from now, rounded up to a whole second (ISO-8601 UTC)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    opens = (now + datetime.timedelta(seconds=seconds_from_now + 1)).replace(microsecond=0)
    return opens, opens.strftime("%Y-%m-%dT%H:%M:%SZ")


def queue_criteria(report, tiny):
    """The waiting room's targets, each with whether the run met it. The smoke run's few fans
    allow a wider tau and no throughput target: tau's spread over random orders of n fans is
    about 0.67 / sqrt(n)."""
    admission, fairness = report["admission"], report["fairness"]
    pre_bound = 0.15 if tiny else 0.05
    pre_tau, later_tau, rate_error = (fairness["prequeue_tau"], fairness["later_tau"],
                                      admission["rate_error"])
    criteria = {
        "admission rate within 1 %": rate_error is not None and rate_error <= 0.01,
        f"pre-queue |tau| < {pre_bound}": pre_tau is not None and abs(pre_tau) < pre_bound,
        "later-arrival tau > 0.95": later_tau is not None and later_tau > 0.95,
        "no fan bought without a valid token": report["tokens"]["bought_without_valid_token"] == 0,
        "every fan joined, was admitted once and in band order, every buyer paid":
            report["clean"],
    }
    if not tiny:
        criteria["joins at least 20,000/s"] = report["joins"]["per_s"] >= 20000
    return criteria


def run_queue(level, options, workdir):
    """The waiting-room scenario on a stack of its own: the sale opens a little after the start
    with the pre-queue open from the start, and the load client's queue mode joins, waits,
    is admitted and buys."""
    opens, opens_text = sale_opening(options.queue_opens_after)
    capacity = str(options.capacity)
    env_extra = {"CAPACITY_A": capacity, "CAPACITY_B": capacity, "MOCK_SECRET": "bench-secret",
                 "METRICS_TOKEN": METRICS_TOKEN, "WAITING_ROOM": "on",
                 "SALE_OPENS_AT": opens_text, "PREQUEUE_MINUTES": "60",
                 "ADMIT_PER_SECOND": str(options.queue_rate), "ADMISSION_TTL_SECONDS": "3600",
                 "ADMIT_HOLDS_CEILING": "0"}
    name = level["name"].replace("/", "_") + "_queue"
    with BenchStack(level, workdir, options.build_dir, env_extra, name=name,
                    servers=options.queue_servers) as stack:
        left = (opens - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        log(f"{level['name']:9} queue    {options.queue_fans} fans, sale opens in {left:.1f} s "
            f"at {opens_text}")
        if left < 2:
            log(f"{level['name']:9} queue    the stack took long to start: a short pre-queue")
        wait_s = options.queue_fans / options.queue_rate * 2 + 120
        report = cpu_split(stack, ["--mode", "queue", "--fans", str(options.queue_fans),
                                   "--prequeue-share", str(options.queue_prequeue_share),
                                   "--buyers", str(options.queue_buyers),
                                   "--admit-per-second", str(options.queue_rate),
                                   "--concurrency", str(options.queue_concurrency),
                                   "--wait-timeout", str(wait_s), "--poll-interval", "0.01"],
                           options.build_dir)
    report["level"] = level["name"]
    report["servers"] = options.queue_servers
    report["sale_opens_at"] = opens_text
    report["criteria"] = queue_criteria(report, options.tiny)
    fairness, admission = report["fairness"], report["admission"]
    def tau(value):
        return "-" if value is None else f"{value:.4f}"
    log(f"{level['name']:9} queue    joins {report['joins']['per_s']:10.1f}/s  admitted "
        f"{admission['admitted']}/{report['fans']} at {admission['rate_per_s'] or 0:.1f}/s "
        f"(configured {options.queue_rate})  tau pre {tau(fairness['prequeue_tau'])} later "
        f"{tau(fairness['later_tau'])}  polls/fan {report['polls']['per_fan']:.2f}  bought "
        f"without a valid token {report['tokens']['bought_without_valid_token']}")
    for criterion, met in report["criteria"].items():
        if not met:
            log(f"{level['name']:9} queue    NOT MET: {criterion}")
    return report


def write_results(result, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    stamp = result["date"].replace(":", "").replace("-", "")[:15]
    base = os.path.join(out_dir, f"{stamp}-{result['commit']}")
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(base + ".csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["date", "commit", "level", "phase", "concurrency", "repeat", "total", "ok",
                         "errors", "wall_s", "ops_per_s", "p50_s", "p99_s",
                         "server_cpu_us_per_op"])
        for r in result["runs"]:
            cpu = r["server_cpu_us_per_op"]
            writer.writerow([result["date"], result["commit"], r["level"], r["phase"],
                             r["concurrency"], r["repeat"], r["total"], r["ok"], r["errors"],
                             f"{r['wall_s']:.4f}", f"{r['ops_per_s']:.1f}",
                             f"{r['latency']['p50_s']:.5f}", f"{r['latency']['p99_s']:.5f}",
                             "" if cpu is None else f"{cpu:.1f}"])
    with open(base + ".md", "w") as f:
        f.write(summary_table(result))
    for ending in (".json", ".md"):
        shutil.copyfile(base + ending, os.path.join(out_dir, "latest" + ending))
    return base


# What the summary tabulates per level, phase and concurrency: a title, the value of a run
# (None when it has none) and how a mean over the repeats is written.
PHASE_TABLES = [
    ("Requests per second of phase wall time", lambda r: r["ops_per_s"], "{:,.0f}"),
    ("p50 latency in ms", lambda r: r["latency"]["p50_s"] * 1e3, "{:.2f}"),
    ("p99 latency in ms", lambda r: r["latency"]["p99_s"] * 1e3, "{:.2f}"),
    ("Server CPU in µs per operation (utime + stime of the server during the phase)",
     lambda r: r.get("server_cpu_us_per_op"), "{:,.0f}"),
]


def phase_table(result, concurrencies, title, value, style):
    """Markdown lines: one row per level and phase, the mean over the repeats per concurrency."""
    lines = ["", f"{title}, mean of the repeats:", "",
             "| level | phase | " + " | ".join(f"c={c}" for c in concurrencies) + " |",
             "|---|---|" + "---:|" * len(concurrencies)]
    for level in result["levels"]:
        for phase in ("reserve", "commit", "checkout", "webhook", "seats", "seats-304",
                      "seat-holds", "seat-voids"):
            cells = []
            for c in concurrencies:
                values = [value(r) for r in result["runs"]
                          if r["level"] == level and r["phase"] == phase and r["concurrency"] == c]
                values = [v for v in values if v is not None]
                cells.append(style.format(sum(values) / len(values)) if values else "")
            if any(cells):
                lines.append(f"| {level} | {phase} | " + " | ".join(cells) + " |")
    return lines


def summary_table(result):
    """Markdown: ops/s, p50, p99 and server CPU per operation per level and phase at each
    concurrency (means over the repeats), then the full flow and the mean batch size each store
    received at the highest concurrency."""
    concurrencies = sorted({r["concurrency"] for r in result["runs"]})
    lines = [f"Measured {result['date']} at commit {result['commit']} on "
             f"{result['machine']['cpu']}, {result['machine']['cores']} cores, "
             f"{result['machine']['memory_gib']} GiB."]
    if "venue" in result:  # Recorded since general admission runs without one.
        seats = (f", the seat phases on one with VENUE={result['venue']}" if result.get("venue")
                 else "")
        lines += ["", "General admission (reserve, commit, checkout, webhook, the flow) ran on "
                  f"a server without a venue{seats}."]
    if result.get("flow_stack") == "fresh" and result["flows"]:  # Recorded since run L.
        lines += ["", "The flows ran on a stack of fresh services, not after the phases."]
    for title, value, style in PHASE_TABLES:
        lines += phase_table(result, concurrencies, title, value, style)
    lines += ["", "| level | flow tickets/s | PAID/total | p50 ms | p99 ms | concurrency | "
              "server µs CPU/ticket |", "|---|---:|---:|---:|---:|---:|---:|"]
    for flow in result["flows"]:
        e2e, cpu = flow["end_to_end"], flow.get("server_cpu_us_per_ticket")
        lines.append(f"| {flow['level']} | {flow['throughput_per_s']:,.0f} | "
                     f"{flow['paid']}/{flow['total']} | {e2e['p50_s'] * 1e3:.1f} | "
                     f"{e2e['p99_s'] * 1e3:.1f} | {flow['concurrency']} | "
                     f"{'' if cpu is None else f'{cpu:,.0f}'} |")
    lines += ["", "CPU seconds per process during the flow run (the machine has "
              f"{result['machine']['cores']} cores):", ""]
    for flow in result["flows"]:
        split = ", ".join(f"{k} {v:.2f}" for k, v in
                          sorted(flow.get("cpu_seconds", {}).items(), key=lambda kv: -kv[1]))
        lines.append(f"- {flow['level']} at c={flow['concurrency']}: wall {flow['wall_s']:.2f} s, "
                     f"machine busy {flow.get('machine_busy_cpu_seconds', 0):.2f} cpu-s; {split}")
    top = concurrencies[-1] if concurrencies else None
    lines += ["", f"Mean batch size per store at c={top} (events per request, one pair of phases "
              "runs together):", ""]
    for level in result["levels"]:
        means = {}
        for r in result["runs"]:
            pair = next((p for p in PHASE_PAIRS if p[0] == r["phase"]), None)
            if r["level"] == level and r["concurrency"] == top and pair:
                for store, b in r["batches"].items():
                    means.setdefault(f"{store} ({'+'.join(pair)})", []).append(b["mean"])
        text = ", ".join(f"{k} {sum(v) / len(v):.1f}" for k, v in sorted(means.items()))
        lines.append(f"- {level}: {text or 'none recorded'}")
    # Component times at c=100 (the targets' concurrency), where queueing does not yet dominate.
    middle = min(concurrencies, key=lambda c: abs(c - 100)) if concurrencies else None
    lines += ["", f"Mean server-side time per call in ms at c={middle}, checkout+webhook:", ""]
    for level in result["levels"]:
        means = {}
        for r in result["runs"]:
            if r["level"] == level and r["concurrency"] == middle and r["phase"] == "checkout":
                for component, c in r["components"].items():
                    means.setdefault(component, []).append(c["mean_s"])
        text = ", ".join(f"{k} {sum(v) / len(v) * 1e3:.2f}" for k, v in sorted(means.items()))
        lines.append(f"- {level}: {text or 'none recorded'}")
    lines += queue_table(result.get("queues", []))
    lines += floor_table(result.get("tb_floor")) + http_floor_table(result.get("http_floor"))
    lines += targets.markdown(result)
    return "\n".join(lines) + "\n"


def queue_table(queues):
    """Markdown lines for the waiting-room runs; none when there were none."""
    if not queues:
        return []
    lines = ["", "Waiting room (load client's queue mode; tau: Kendall's tau-b of join order "
             "against admission order):", "",
             "| level | fans | joins/s | admitted/s (configured) | rate error % | "
             "pre-queue tau | later tau | polls/fan | paid/buyers | bought without a valid token "
             "| all targets met |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    def number(value, style):
        return "" if value is None else style.format(value)
    for q in queues:
        a, f = q["admission"], q["fairness"]
        lines.append(f"| {q['level']} | {q['fans']:,} | {q['joins']['per_s']:,.0f} | "
                     f"{number(a['rate_per_s'], '{:,.1f}')} "
                     f"({number(a['configured_per_s'], '{:,.0f}')}) | "
                     f"{number(a['rate_error'] and a['rate_error'] * 100, '{:.2f}')} | "
                     f"{number(f['prequeue_tau'], '{:.4f}')} | "
                     f"{number(f['later_tau'], '{:.4f}')} | "
                     f"{q['polls']['per_fan']:.2f} | {q['buys']['paid']}/{q['buys']['total']} | "
                     f"{q['tokens']['bought_without_valid_token']} | "
                     f"{'yes' if all(q['criteria'].values()) else 'no'} |")
    return lines


def floor_table(floor):
    """Markdown lines for the TigerBeetle floor; none when it was not measured."""
    if not floor:
        return []
    lines = ["", "TigerBeetle floor (tigerfans-tb-floor on a replica of its own before level 3's "
             "load, one request at a time):", "",
             "| transfers per request | requests | median ms | p99 ms | "
             "transfers/s at the median |",
             "|---:|---:|---:|---:|---:|"]
    for row in floor["round_trip"]:
        median = row["latency"]["median_ms"]
        if row["refused"] or median <= 0:
            lines.append(f"| {row['transfers']:,} | | refused (request limit) | | |")
            continue
        lines.append(f"| {row['transfers']:,} | {row['requests']:,} | {median:.3f} | "
                     f"{row['latency']['p99_ms']:.3f} | {row['transfers'] / median * 1e3:,.0f} |")
    lines += ["", "| in flight (batches of 100) | transfers/s | median ms | p99 ms |",
              "|---:|---:|---:|---:|"]
    for row in floor["throughput"]:
        lines.append(f"| {row['in_flight']} | {row['transfers_per_s']:,.0f} | "
                     f"{row['latency']['median_ms']:.3f} | {row['latency']['p99_ms']:.3f} |")
    mix = floor.get("tickets")
    if mix and "error" in mix:
        lines += ["", f"The ticket mix after the flows failed: {mix['error']}"]
    elif mix:
        cpu = mix.get("replica_cpu_us_per_ticket")
        lines += ["", "The ticket mix after the flows (each request holds "
                  f"{mix['tickets_per_request']} tickets, two pending transfers each, and posts "
                  "the previous request's holds, and a last request posts; one in flight):", "",
                  "| requests | tickets/s | median ms | p99 ms | replica µs CPU per ticket |",
                  "|---:|---:|---:|---:|---:|",
                  f"| {mix['requests']:,} | {mix['tickets_per_s']:,.0f} | "
                  f"{mix['latency']['median_ms']:.3f} | {mix['latency']['p99_ms']:.3f} | "
                  f"{'-' if cpu is None else f'{cpu:.0f}'} |"]
    return lines


def http_floor_table(reports):
    """Markdown lines for the HTTP floor; none when it was not measured."""
    if not reports:
        return []
    lines = ["", "HTTP floor (the load client's healthz phase against tigerfans-http-floor, a "
             "bare Beast server on one thread, before the levels):", "",
             "| concurrency | requests | requests/s | p50 ms | p99 ms | server µs CPU per request |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in reports:
        cpu = r.get("server_cpu_us_per_op")
        lines.append(f"| {r['concurrency']} | {r['ok']:,} | {r['ops_per_s']:,.0f} | "
                     f"{r['latency']['p50_s'] * 1e3:.2f} | {r['latency']['p99_s'] * 1e3:.2f} | "
                     f"{'-' if cpu is None else f'{cpu:.1f}'} |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    parser.add_argument("--levels", default="pg/pg,pg/redis,tb/redis")
    parser.add_argument("--concurrency", default="1,10,30,100,300,1000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--min-total", type=int, default=1000)
    parser.add_argument("--seat-read-total", type=int, default=20000,
                        help="the least requests of a seats or seats-304 phase")
    parser.add_argument("--per-connection", type=int, default=50)
    parser.add_argument("--flow-total", type=int, default=10000, help="0: no flow run")
    parser.add_argument("--flow-concurrency", default="100,300",
                        help="fans in flight of each full-flow run, e.g. 100,300")
    parser.add_argument("--flow-stack", choices=("fresh", "shared"), default="fresh",
                        help="the flows on a stack of fresh services (default) or on the "
                             "phases' stack after them")
    parser.add_argument("--capacity", type=int, default=100_000_000)
    parser.add_argument("--pairs",
                        default="checkout+webhook,reserve+commit,seats+seats-304,"
                                "seat-holds+seat-voids",
                        help="phase pairs to run, e.g. checkout+webhook")
    parser.add_argument("--venue", default="stadium",
                        help="VENUE of the seat phases' server (general admission and the flow "
                             "run on a server without one)")
    parser.add_argument("--floor-repetitions", type=int, default=400,
                        help="TigerBeetle floor: requests timed per batch size (the probe gives "
                             "a size fewer when they would carry over 100,000 transfers in all, "
                             "down to 50)")
    parser.add_argument("--floor-requests", type=int, default=400,
                        help="TigerBeetle floor: requests per in-flight level")
    parser.add_argument("--floor-tickets", type=int, default=500,
                        help="TigerBeetle floor: requests of the ticket mix after the flows "
                             "(28 tickets each; 0: none)")
    parser.add_argument("--http-floor-per-connection", type=int, default=500,
                        help="HTTP floor: requests per connection at each flow concurrency "
                             "(0: no HTTP floor)")
    queue = parser.add_argument_group("waiting-room scenario")
    for flag, kind, default, text in QUEUE_FLAGS:
        queue.add_argument(flag, type=kind, default=default, help=text)
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke run")
    options = parser.parse_args()
    options.pairs = [pair.split("+") for pair in options.pairs.split(",")]
    if any(pair not in PHASE_PAIRS for pair in options.pairs):
        parser.error(f"--pairs: each must be one of {['+'.join(p) for p in PHASE_PAIRS]}")
    if options.tiny:
        options.concurrency, options.repeat, options.min_total = "1,10", 1, 50
        options.seat_read_total = 50
        options.per_connection, options.flow_total, options.flow_concurrency = 5, 50, "10"
        options.floor_repetitions, options.floor_requests, options.floor_tickets = 3, 16, 5
        options.http_floor_per_connection = 5
        options.queue_fans, options.queue_rate, options.queue_buyers = 2000, 500, 20
        options.queue_concurrency, options.queue_opens_after = 20, 12
    options.concurrency = [int(c) for c in options.concurrency.split(",")]
    options.flow_concurrency = [int(c) for c in options.flow_concurrency.split(",")]
    wanted = options.levels.split(",")

    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "commit": commit(), "machine": machine(), "tiny": options.tiny,
              "redis_persistence": os.environ.get("REDIS_PERSISTENCE", "everysec"),
              "levels": [], "skipped": {}, "failed": {}, "runs": [], "flows": [], "queues": [],
              "tb_floor": None, "http_floor": None, "flow_stack": options.flow_stack,
              "venue": options.venue if seat_pairs(options.pairs) else ""}
    # SIGTERM unwinds like Ctrl-C, so the running level's server and services are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    workdir = tempfile.mkdtemp(prefix="tigerfans-bench-")
    os.chmod(workdir, 0o755)  # PostgreSQL runs as its own user when we are root.
    try:
        if options.http_floor_per_connection > 0:
            try:
                result["http_floor"] = http_floor(options)
            except (RuntimeError, OSError, ValueError, KeyError) as error:
                log(f"http floor: FAILED: {error}")
                result["failed"]["http floor"] = str(error)
        for level in LEVELS:
            if level["name"] not in wanted:
                continue
            try:
                runs, flows, floor, seat_failure = run_level(level, options, workdir)
            except LevelUnavailable as error:
                log(f"{level['name']}: skipped: {error}")
                result["skipped"][level["name"]] = str(error)
                continue
            except RuntimeError as error:
                # A server that does not start, or a load client that fails, is a failure.
                log(f"{level['name']}: FAILED: {error}")
                result["failed"][level["name"]] = str(error)
                continue
            if seat_failure:
                result["failed"][level["name"] + " seats"] = seat_failure
            result["levels"].append(level["name"])
            result["runs"] += runs
            result["flows"] += flows
            if floor:
                result["tb_floor"] = floor
            if options.queue_fans > 0 and level["name"] in options.queue_levels.split(","):
                try:
                    result["queues"].append(run_queue(level, options, workdir))
                except RuntimeError as error:
                    log(f"{level['name']}: queue FAILED: {error}")
                    result["failed"][level["name"] + " queue"] = str(error)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not result["levels"]:
        log("no level could run")
        return 1
    result["targets"] = [{"target": target, "verdict": verdict, "detail": detail}
                         for target, verdict, detail in targets.judge_or_say_why(result)]
    base = write_results(result, options.out)
    log(f"results: {base}.json, {base}.csv")
    for row in result["targets"]:
        log(f"level 3: {row['verdict']:12} {row['target']}")
    if result["failed"]:
        log(f"failed: {', '.join(result['failed'])}")
        return 1
    failed = [r for r in result["runs"] if r["ok"] == 0 or r["errors"] > 0]
    failed += [f for f in result["flows"] if f["paid"] != f["total"]]
    failed += [q for q in result["queues"] if not all(q["criteria"].values())]
    failed += [r for r in result["http_floor"] or [] if r["ok"] == 0 or r["errors"] > 0]
    if options.http_floor_per_connection > 0 and not result["http_floor"]:
        failed.append("http floor")
    if options.tiny and failed:
        log(f"{len(failed)} runs had errors: the smoke run fails")
        return 1
    unmeasured = [r for r in result["runs"] if r["server_cpu_us_per_op"] is None]
    unmeasured += [r for r in result["http_floor"] or [] if r["server_cpu_us_per_op"] is None]
    unmeasured += [f for f in result["flows"] if f["server_cpu_us_per_ticket"] is None]
    if options.tiny and unmeasured:
        log(f"{len(unmeasured)} runs lack the server's CPU time: the smoke run fails")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

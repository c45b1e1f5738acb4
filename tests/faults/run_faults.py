#!/usr/bin/python3
"""Fault-injection suite: no paid order is ever lost or doubled.

For every level (1 pg/pg, 2 pg/redis, 3 tb/redis when TIGERBEETLE_BIN names a TigerBeetle server
binary) and every fault it starts fresh services and a fresh server (small reservation TTL,
capacities below the demand for class A and for goodies) and plays the payment provider: fans
check out concurrently, each accepted checkout is paid (about 80%), failed, canceled or
abandoned, and an outbox delivers every signed event until it gets a 2xx, retrying with back-off
on connection errors, 5xx and 409. Meanwhile the fault strikes: a crash point (the server kills
itself there; the suite restarts it, armed again, a few times), kill -9 of the server, kill -9
of Redis, a FLUSHALL of Redis (every session, lease and mark gone at once; alone, and with a
crash point, so payments take the path of a lost session and its retries), an immediate-mode
PostgreSQL restart, or kill -9 of the TigerBeetle replica. Events describe their order as
MockPay's do, which is what lets a payment whose session is gone still be recorded.

Afterwards, once the holds' TTL has passed, it compares what the provider knows with the
orders table and the ledger (/api/inventory):
  lost          succeeded payments without exactly one PAID or PAID_UNFULFILLED order
  doubled       ledger sales beyond the PAID orders of a class, duplicate ticket codes, order
                rows whose status disagrees with the event that settled them (or with no event)
  oversold      ledger sales or PAID orders beyond a class's capacity, goodies beyond the limit
  leaked holds  active holds left per class and goodies after the TTL
and checks that PAID orders per class equal the ledger's sold count, and goodie orders the
goodies sold, and that a reconciliation pass (`tigerfans reconcile`) finds no lost order to
write and nothing for a person to look at. It prints one table row per level and fault and exits non-zero when any count
is non-zero or anything else failed (a server that did not restart, an undeliverable event, a
crash point never reached...). Rows named "N servers" run N server processes on one shared
port (SERVER_PROCESSES), where nothing may be sold twice across them and every process must
answer; "kill -9 one of 2 servers" kills one mid-run and leaves it dead until the traffic ends,
so the other serves alone. At level 3, "3 replicas with 2 servers" runs a three-replica
TigerBeetle cluster (TB_REPLICAS=3) under two server processes, and "kill -9 one of 3
replicas" kills a random replica at random moments (the other two keep a quorum) and starts it
again to catch up. Requests go only to the 127.0.0.1 servers it started.

Standard library only. `--small` is the CI size (part of `make test`); `make faults` the full.
"""

import argparse
import base64
import collections
import concurrent.futures
import datetime
import glob
import hashlib
import heapq
import hmac
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from stack import LEVELS, ROOT, LevelUnavailable, Stack, commit, machine  # noqa: E402

SECRET = "faults-secret"
TTL_S = 3
CRASH_POINTS = ["webhook.after_lease", "webhook.after_settle", "webhook.after_insert",
                "webhook.before_answer", "orders.mid_commit"]
# Each fault with the levels it applies to.
FAULTS = ([("none", (1, 2, 3))] + [(f"crash {p}", (1, 2, 3)) for p in CRASH_POINTS] +
          [("kill -9 server", (1, 2, 3)), ("kill -9 redis", (2, 3)),
           ("flush redis", (2, 3)), ("flush redis with crash webhook.after_settle", (2, 3)),
           ("restart postgres", (1, 2, 3)), ("kill -9 tigerbeetle", (3,)),
           ("2 servers", (1, 2, 3)), ("4 servers", (1, 2, 3)),
           ("kill -9 one of 2 servers", (1, 2, 3)),
           ("3 replicas with 2 servers", (3,)), ("kill -9 one of 3 replicas", (3,))])
OUTCOMES = (("succeeded", 80), ("failed", 9), ("canceled", 8), ("abandoned", 3))
REQUEST_TIMEOUT_S = 10
CHECKOUT_DEADLINE_S = 40
# Inside the session's lifetime (TTL + 60 s): a later delivery would meet an expired session.
DELIVERY_DEADLINE_S = 50
HOLDS_SETTLE_TIMEOUT_S = 15

def replicas(fault):
    """TigerBeetle replicas in a row's cluster: 3 where its name says so."""
    return 3 if "3 replicas" in fault else 1


def server_processes(fault):
    """How many server processes share the port in a row: 2 or 4 where its name says so."""
    for count in (2, 4):
        if f"{count} servers" in fault:
            return count
    return 1


# Set when the suite is interrupted: fans and couriers stop, rows clean up and end.
ABORT = threading.Event()
SIZES = {  # orders per row, fan threads, delivery threads, arrival spread, faults per row
    "small": {"orders": 160, "fans": 24, "couriers": 12, "spread_s": 4.0, "strikes": 2},
    "full": {"orders": 2000, "fans": 48, "couriers": 24, "spread_s": 10.0, "strikes": 4},
}


def log(message):
    print(f"faults: {message}", file=sys.stderr, flush=True)


def as_postgres(command):
    """PostgreSQL's tools refuse to run as root: run them as the postgres user then."""
    return (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + command


def pg_ctl():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return found[-1] if found else "pg_ctl"


# --- HTTP ----------------------------------------------------------------------------------------

class Transport(Exception):
    """No HTTP answer: refused, reset, timed out."""


class Client:
    """One keep-alive connection per thread to the server on 127.0.0.1:port."""

    def __init__(self, port):
        self.port = port
        self.local = threading.local()

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON body or None); Transport when no answer came."""
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                    timeout=REQUEST_TIMEOUT_S)
            self.local.connection = connection
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            self.local.connection = None
            raise Transport(str(error) or type(error).__name__) from error
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, None


def backoff_s(attempt, rng):
    return min(1.0, 0.05 * 2 ** attempt) * rng.uniform(0.5, 1.0)


# --- the provider -------------------------------------------------------------------------------

class Payment:
    """An accepted checkout and what became of it."""

    def __init__(self, order_id, psid, cls, email, outcome, held_at):
        self.order_id, self.psid, self.cls, self.outcome = order_id, psid, cls, outcome
        self.email = email
        self.held_at = held_at
        self.asked_at = held_at    # When the checkout that was accepted was sent.
        self.body = None
        self.deadline = 0.0
        self.attempts = 0
        self.final = None          # The final HTTP status of the delivery (None: undelivered).
        self.answer = None         # order_status in a 2xx answer.

    def event(self):
        """The signed event, the same bytes on every delivery attempt. Like MockPay's, it
        describes its order, so a payment whose session is gone can still be recorded."""
        if self.body is None:
            self.body = json.dumps({
                "type": f"payment.{self.outcome}", "payment_session_id": self.psid,
                "order_id": self.order_id, "cls": self.cls, "customer_email": self.email,
                "amount": 6500 if self.cls == "A" else 3500,
                "currency": "eur", "created_at": int(time.time()),
                "idempotency_key": "evt_" + os.urandom(16).hex()}, separators=(",", ":")).encode()
        signature = base64.b64encode(hmac.new(SECRET.encode(), self.body, hashlib.sha256).digest())
        return self.body, {"content-type": "application/json",
                           "x-mockpay-signature": signature.decode()}


class Outbox:
    """Events waiting for delivery, by due time. `take` blocks until one is due, and returns
    None once the fans are done and every event has been delivered or given up."""

    def __init__(self):
        self.heap, self.sequence, self.open_events = [], 0, 0
        self.fans_done = False
        self.condition = threading.Condition()

    def add(self, payment, due):
        with self.condition:
            self.open_events += 1
            self._push(payment, due)

    def retry(self, payment, due):
        with self.condition:
            self._push(payment, due)

    def _push(self, payment, due):
        self.sequence += 1
        heapq.heappush(self.heap, (due, self.sequence, payment))
        self.condition.notify()

    def done_with(self):
        with self.condition:
            self.open_events -= 1
            self.condition.notify_all()

    def close(self):
        with self.condition:
            self.fans_done = True
            self.condition.notify_all()

    def take(self):
        with self.condition:
            while True:
                if self.heap and self.heap[0][0] <= time.monotonic():
                    return heapq.heappop(self.heap)[2]
                if (self.fans_done and self.open_events == 0) or ABORT.is_set():
                    return None
                wait = self.heap[0][0] - time.monotonic() if self.heap else 1.0
                self.condition.wait(min(wait, 1.0))


class Provider:
    """Fans who check out and the payment provider who delivers their events."""

    def __init__(self, client, size, rng_seed):
        self.client, self.size, self.seed = client, size, rng_seed
        # Whether Redis lost everything (a flush) since a given moment: an unpaid session's
        # event then answers 404 and changes nothing. Set by a row that flushes.
        self.flushed_since = lambda moment: False
        self.outbox = Outbox()
        self.lock = threading.Lock()
        self.payments = {}
        self.counts = collections.Counter()
        self.problems = []
        self.last_hold_at = time.monotonic()

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] += n

    def problem(self, text):
        with self.lock:
            if len(self.problems) < 20:
                self.problems.append(text)
            self.counts["problems"] += 1

    def run(self):
        fans = list(range(self.size["orders"]))
        start = time.monotonic()
        rng = random.Random(f"{self.seed}:arrivals")
        arrivals = sorted(rng.uniform(0, self.size["spread_s"]) for _ in fans)
        queue = collections.deque(zip(fans, arrivals))
        queue_lock = threading.Lock()

        def fan_worker():
            while True:
                with queue_lock:
                    if not queue:
                        return
                    fan, arrival = queue.popleft()
                if ABORT.wait(max(0.0, start + arrival - time.monotonic())):
                    return
                self.fan(fan)

        fan_threads = [threading.Thread(target=fan_worker) for _ in range(self.size["fans"])]
        couriers = [threading.Thread(target=self.courier) for _ in range(self.size["couriers"])]
        for thread in fan_threads + couriers:
            thread.start()
        for thread in fan_threads:
            thread.join()
        self.outbox.close()
        for thread in couriers:
            thread.join()

    def fan(self, index):
        rng = random.Random(f"{self.seed}:fan:{index}")
        cls = rng.choice("AB")
        email = f"fan{index}@example.com"
        body = json.dumps({"cls": cls, "customer_email": email})
        deadline = time.monotonic() + CHECKOUT_DEADLINE_S
        for attempt in itertools.count():
            asked_at = time.monotonic()
            try:
                status, answer = self.client.request("POST", "/api/checkout", body,
                                                     {"content-type": "application/json"})
            except Transport:
                status, answer = None, None
            if status == 200:
                break
            if status == 409:
                self.count("sold out")
                return
            if status is not None and status < 500:
                self.problem(f"checkout answered {status}: {answer}")
                return
            if time.monotonic() > deadline or ABORT.is_set():
                self.problem(f"checkout of fan {index} failed until the deadline ({status})")
                return
            self.count("checkout retries")
            ABORT.wait(backoff_s(attempt, rng))
        outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        now = time.monotonic()
        payment = Payment(answer["order_id"], answer["redirect_url"].rsplit("/", 1)[1], cls,
                          email, outcome, now)
        payment.asked_at = asked_at
        with self.lock:
            self.payments[payment.order_id] = payment
            self.last_hold_at = max(self.last_hold_at, now)
        self.count(outcome)
        if outcome == "abandoned":
            return
        # Most pay at once; some after their hold expired (the late-booking path).
        delay = rng.uniform(TTL_S, TTL_S + 1.0) if rng.random() < 0.15 else rng.uniform(0, 0.3)
        payment.deadline = now + delay + DELIVERY_DEADLINE_S
        self.outbox.add(payment, now + delay)

    def courier(self):
        rng = random.Random(f"{self.seed}:courier:{threading.get_ident()}")
        while (payment := self.outbox.take()) is not None:
            body, headers = payment.event()
            try:
                status, answer = self.client.request("POST", "/payments/webhook", body, headers)
            except Transport:
                status, answer = None, None
            payment.attempts += 1
            if status is None or status >= 500 or status == 409:
                self.count("webhook no answer" if status is None else
                           "webhook 409" if status == 409 else "webhook 5xx")
                if time.monotonic() < payment.deadline:
                    self.outbox.retry(payment, time.monotonic() + backoff_s(payment.attempts, rng))
                    continue
                self.problem(f"event {payment.outcome} of {payment.order_id} undelivered "
                             f"until the deadline (last: {status})")
            elif 200 <= status < 300:
                payment.answer = (answer or {}).get("order_status")
            elif (status == 404 and payment.outcome != "succeeded" and
                  self.flushed_since(payment.asked_at)):
                self.count("webhook 404 of a lost session")
            else:
                self.problem(f"event {payment.outcome} of {payment.order_id} answered "
                             f"{status}: {answer}")
            payment.final = status
            self.outbox.done_with()


# --- faults -------------------------------------------------------------------------------------

class Supervisor(threading.Thread):
    """Restarts every server process that dies (with `restart`; otherwise only at the end). In
    a crash row it arms the crash point again at a random pass count after every crash until
    `crashes` crashes happened."""

    def __init__(self, point, crashes, arm_max, rng, restart=True):
        super().__init__(daemon=True)
        self.stack = None  # Set before start().
        self.point, self.budget, self.arm_max, self.rng = point, crashes, arm_max, rng
        self.restart = restart
        self.runs, self.crashes = 1, 0
        self.armed = False
        self.stopping = threading.Event()
        self.failure = None
        self.seen_dead = set()  # Indexes of dead processes already counted.

    def crash_env(self):
        self.armed = bool(self.point) and self.crashes < self.budget
        value = f"{self.point}:{self.rng.randint(1, self.arm_max)}" if self.armed else ""
        return {"TIGERFANS_CRASH_AT": value}

    def dead(self, index):
        """Whether server process `index` died; counts an armed server's SIGKILL as a crash."""
        server = self.stack.servers[index]
        if server.poll() is None:
            return False
        if index not in self.seen_dead:
            self.seen_dead.add(index)
            if self.armed and server.returncode == -signal.SIGKILL:
                self.crashes += 1
        return True

    def start(self):
        self.runs = len(self.stack.servers)
        super().start()

    def revive(self, index, extra_env, healthy):
        self.seen_dead.discard(index)
        self.stack.start_server(extra_env, healthy=healthy, index=index)
        self.runs += 1

    def run(self):
        while not self.stopping.wait(0.05):
            for index in range(len(self.stack.servers)):
                if not self.dead(index) or not self.restart:
                    continue
                try:
                    self.revive(index, self.crash_env(), healthy=False)
                except RuntimeError as error:
                    # Killed (a crash point, a strike) before the suite saw it listen: started.
                    if self.stack.servers[index].returncode != -signal.SIGKILL:
                        self.failure = str(error)
                        return
                    self.runs += 1

    def finish(self):
        """Stops restarting; leaves running, disarmed, healthy servers for the checks."""
        self.stopping.set()
        self.join()
        if self.failure:
            raise RuntimeError(self.failure)
        for index in range(len(self.stack.servers)):
            if self.dead(index):
                self.revive(index, {"TIGERFANS_CRASH_AT": ""}, healthy=True)


def wait_gone(pid, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.02)


def read_pid(path):
    with open(path) as f:
        return int(f.read().split()[0])


class Striker(threading.Thread):
    """Strikes `strikes` times at random moments while the fans arrive: kill -9 of the server
    (the supervisor restarts it), or kill -9 / immediate stop of a service, which is down for a
    moment and then started again by services.sh."""

    def __init__(self, stack, fault, strikes, spread_s, rng):
        super().__init__(daemon=True)
        self.stack, self.fault, self.rng = stack, fault, rng
        self.moments = sorted(rng.uniform(0.2, spread_s) for _ in range(strikes))
        # time.monotonic() once each strike was done (a flush has run by then; a checkout sent
        # before it may have lost its session), None while it is under way.
        self.struck_at = []
        self.done = 0
        self.failure = None

    def run(self):
        start = time.monotonic()
        try:
            for moment in self.moments:
                time.sleep(max(0.0, start + moment - time.monotonic()))
                self.struck_at.append(None)  # Under way: a flush may have run already.
                self.strike()
                self.struck_at[-1] = time.monotonic()
                self.done += 1
        except (OSError, subprocess.CalledProcessError) as error:
            self.failure = f"{self.fault}: {error}"

    def strike(self):
        run_dir = os.path.join(self.stack.data, "run")
        if self.fault.startswith("flush redis"):  # Everything Redis held is gone at once.
            subprocess.run(["redis-cli", "-s", os.path.join(run_dir, "redis.sock"), "flushall"],
                           check=True, stdout=subprocess.DEVNULL)
            return
        if self.fault == "kill -9 server":
            self.stack.server.send_signal(signal.SIGKILL)
            return
        if self.fault == "kill -9 one of 2 servers":
            living = [s for s in self.stack.servers if s.poll() is None]
            if len(living) < 2:
                raise OSError("no second server process left to keep serving")
            self.rng.choice(living).send_signal(signal.SIGKILL)
            return
        if self.fault == "restart postgres":
            subprocess.run(as_postgres([pg_ctl(), "-D", os.path.join(self.stack.data, "postgres"),
                                        "-m", "immediate", "-w", "stop"]),
                           check=True, stdout=subprocess.DEVNULL)
        else:
            pid_file = "tigerbeetle-0.pid"
            if self.fault == "kill -9 redis":
                pid_file = "redis.pid"
            elif self.fault == "kill -9 one of 3 replicas":  # The other two keep a quorum.
                pid_file = f"tigerbeetle-{self.rng.randrange(3)}.pid"
            pid = read_pid(os.path.join(run_dir, pid_file))
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid)
        time.sleep(self.rng.uniform(0.3, 1.5))
        self.stack.start_services()


# --- checks -------------------------------------------------------------------------------------

def query_orders(stack):
    """Every order row: id -> (cls, status, ticket_code, got_goodie)."""
    sql = "SELECT id, cls, status, coalesce(ticket_code, ''), got_goodie FROM orders"
    out = subprocess.run(as_postgres(["psql", "-X", "-At", "-F", "\t", "-c", sql,
                                      stack.settings["DATABASE_URL"]]),
                         check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        order_id, cls, status, code, goodie = line.split("\t")
        rows[order_id] = (cls, status, code, goodie == "t")
    return rows


def inventory(client):
    status, body = client.request("GET", "/api/inventory")
    if status != 200:
        raise RuntimeError(f"/api/inventory answered {status}")
    return body


def settled_inventory(client, last_hold_at):
    """The inventory once every hold's TTL has passed and the ledger has let them go (a
    TigerBeetle replica expires pending transfers on its own schedule): waits a little for
    active holds to reach 0, then returns whatever is left."""
    time.sleep(max(0.0, last_hold_at + TTL_S + 1.0 - time.monotonic()))
    deadline = time.monotonic() + HOLDS_SETTLE_TIMEOUT_S
    while True:
        stock = inventory(client)
        held = sum(stock[r]["active_holds"] for r in ("A", "B", "goodies"))
        if held == 0 or time.monotonic() > deadline:
            return stock
        time.sleep(0.25)


EXPECTED_STATUS = {"succeeded": ("PAID", "PAID_UNFULFILLED"), "failed": ("FAILED",),
                   "canceled": ("CANCELED",), "abandoned": ()}


def judge(provider, rows, stock, capacities):
    """The row's counts and the problems behind any of them."""
    problems = []
    paid_orders = collections.Counter(cls for cls, status, _, _ in rows.values()
                                      if status == "PAID")
    goodie_orders = sum(1 for _, status, _, goodie in rows.values()
                        if goodie and status in ("PAID", "PAID_UNFULFILLED"))
    lost = doubled = oversold = 0
    for payment in provider.payments.values():
        row = rows.get(payment.order_id)
        paid = row is not None and row[1] in EXPECTED_STATUS["succeeded"]
        if payment.outcome == "succeeded" and not paid:
            lost += 1
            problems.append(f"lost: paid order {payment.order_id} ({payment.cls}) has "
                            f"{'no row' if row is None else row[1]}; delivery {payment.final}")
        if row is not None and row[1] not in EXPECTED_STATUS[payment.outcome]:
            doubled += 1
            problems.append(f"doubled: order {payment.order_id} is {row[1]} after "
                            f"{payment.outcome}")
        if row is not None and payment.answer is not None and payment.answer != row[1]:
            problems.append(f"order {payment.order_id} is {row[1]} but the webhook "
                            f"answered {payment.answer}")
    unknown = [order_id for order_id in rows if order_id not in provider.payments]
    doubled += len(unknown)
    problems += [f"doubled: order {order_id} has no checkout the provider knows"
                 for order_id in unknown[:5]]
    codes = collections.Counter(code for _, _, code, _ in rows.values() if code)
    duplicates = sum(n - 1 for n in codes.values() if n > 1)
    doubled += duplicates
    if duplicates:
        problems.append(f"doubled: {duplicates} duplicate ticket codes")
    for cls in ("A", "B"):
        sold = stock[cls]["sold"]
        doubled += max(0, sold - paid_orders[cls])
        if sold != paid_orders[cls]:
            problems.append(f"class {cls}: the ledger sold {sold}, PAID orders {paid_orders[cls]}")
        over = max(sold, paid_orders[cls]) - capacities[cls]
        if over > 0:
            oversold += over
            problems.append(f"oversold: class {cls} sold {max(sold, paid_orders[cls])} of "
                            f"{capacities[cls]}")
    goodies_sold = stock["goodies"]["sold"]
    if goodies_sold > capacities["goodies"]:
        oversold += goodies_sold - capacities["goodies"]
        problems.append(f"oversold: {goodies_sold} goodies of {capacities['goodies']}")
    if goodies_sold != goodie_orders:
        problems.append(f"goodies: the ledger sold {goodies_sold}, orders with one "
                        f"{goodie_orders}")
    leaked = sum(stock[r]["active_holds"] for r in ("A", "B", "goodies"))
    if leaked:
        problems.append("leaked holds: " + ", ".join(
            f"{r} {stock[r]['active_holds']}" for r in ("A", "B", "goodies")))
    return {"lost": lost, "doubled": doubled, "oversold": oversold, "leaked": leaked}, problems


# --- one row ------------------------------------------------------------------------------------

def judge_reconcile(exit_code, report):
    """After the run every order is written by its webhook: a reconciliation pass must find
    nothing to write and nothing for a person to look at."""
    if report is None:
        return [f"tigerfans reconcile printed no report (exit code {exit_code})"]
    problems = []
    if report["written"]:
        problems.append(f"the reconciler had to write {len(report['written'])} lost orders")
    if not report["clean"] or exit_code != 0:
        problems.append("the reconciler found orders that need a person: "
                        f"{report['paid_but_unposted'] + report['unfulfilled_but_posted']}")
    return problems


def run_row(level, fault, options, workdir, row_index):
    """Fresh services and server for one level and fault; returns the row's result."""
    size = SIZES[options.size]
    orders = options.orders or size["orders"]
    size = dict(size, orders=orders)
    capacities = {"A": max(1, orders * 15 // 100), "B": orders * 6 // 10,
                  "goodies": max(1, orders * 4 // 10)}
    env = {"CAPACITY_A": str(capacities["A"]), "CAPACITY_B": str(capacities["B"]),
           "GOODIE_LIMIT": str(capacities["goodies"]), "RESERVATION_TTL_SECONDS": str(TTL_S),
           "MOCK_SECRET": SECRET, "TIGERFANS_CRASH_AT": ""}
    rng = random.Random(f"{options.seed}:{level['name']}:{fault}")
    point = fault.split("crash ", 1)[1] if "crash " in fault else None
    servers = server_processes(fault)
    killing_one = fault == "kill -9 one of 2 servers"
    # One of several dies and stays dead while the traffic lasts: the others serve alone.
    strikes = servers - 1 if killing_one else size["strikes"]
    # Passes of a crash point per server run: about one per event at the webhook's points,
    # fewer at the order commit (one per batch of events).
    events_per_run = int(orders * 0.75 / (strikes + 1))
    arm_max = max(1, events_per_run // 6 if point == "orders.mid_commit" else events_per_run)
    name = f"{row_index:02d}-{level['name'].replace('/', '_')}-{fault.replace(' ', '_')}"
    result = {"level": level["name"], "fault": fault, "runs": 0, "orders": 0,
              "lost": 0, "doubled": 0, "oversold": 0, "leaked": 0, "problems": []}
    started = time.monotonic()
    supervisor = Supervisor(point, strikes, arm_max, rng, restart=not killing_one)
    env.update(supervisor.crash_env())  # The first server is armed too.
    stack = supervisor.stack = Stack(level, workdir, options.build_dir, env, name=name,
                                     servers=servers, replicas=replicas(fault))
    striker = None
    quiet = ("none", "2 servers", "4 servers", "3 replicas with 2 servers")
    if fault not in quiet and (not point or fault.startswith("flush redis")):
        striker = Striker(stack, fault, strikes, size["spread_s"], rng)
    try:
        with stack:
            try:
                client = Client(stack.port)
                provider = Provider(client, size, f"{options.seed}:{name}")
                if striker and fault.startswith("flush redis"):
                    provider.flushed_since = lambda moment: any(
                        struck is None or struck > moment for struck in striker.struck_at)
                supervisor.start()
                if striker:
                    striker.start()
                traffic_started = time.monotonic()
                provider.run()
                traffic_s = time.monotonic() - traffic_started
                if striker:
                    striker.join()
                supervisor.finish()
                stock = settled_inventory(client, provider.last_hold_at)
                answering = stack.answering_servers() if servers > 1 else set()
                rows = query_orders(stack)
                reconciled = stack.reconcile("--grace-seconds", "0")
            finally:  # Nothing may restart or strike while the stack stops.
                supervisor.stopping.set()
                for thread in (supervisor, striker):
                    if thread and thread.is_alive():
                        thread.join()
        counts, problems = judge(provider, rows, stock, capacities)
        problems += judge_reconcile(*reconciled)
        result.update(counts, runs=supervisor.runs, orders=len(provider.payments))
        result["problems"] += provider.problems + problems
        if servers > 1 and len(answering) < servers:
            result["problems"].append(f"only {sorted(answering)} of {servers} server "
                                      "processes answered")
        if point and supervisor.crashes == 0:
            result["problems"].append(f"the crash point {point} was never reached")
        recorded, seen = lost_session_payments(stack.data)
        if fault.startswith("flush redis") and recorded == 0:
            result["problems"].append("no payment was recorded by the lost-session path")
        elif seen and not fault.startswith("flush redis") and fault != "kill -9 redis":
            # Nothing else here may lose a session: AOF and WAL keep what was acknowledged.
            result["problems"].append(f"{seen} payments found no session")
        if striker and striker.failure:
            result["problems"].append(striker.failure)
        elif striker and striker.done < len(striker.moments):
            result["problems"].append(f"only {striker.done} of {len(striker.moments)} strikes")
        result["detail"] = describe(provider, rows, stock, capacities, supervisor, traffic_s)
    except (RuntimeError, OSError, subprocess.CalledProcessError, LevelUnavailable) as error:
        result["problems"].append(f"the row did not complete: {error}")
    finally:
        keep_logs(stack.data, os.path.join(options.logs, name))
        shutil.rmtree(stack.data, ignore_errors=True)
    result["seconds"] = time.monotonic() - started
    return result


def describe(provider, rows, stock, capacities, supervisor, traffic_s):
    """One line on what the row did, to show that the paths under test were taken."""
    counts = provider.counts
    statuses = collections.Counter(status for _, status, _, _ in rows.values())
    sold = ", ".join(f"{r} {stock[r]['sold']}/{capacities[r]}" for r in ("A", "B", "goodies"))
    return (f"{counts['succeeded']} paid, {counts['failed']} failed, {counts['canceled']} "
            f"canceled, {counts['abandoned']} abandoned, {counts['sold out']} sold out; "
            f"{statuses['PAID']} PAID, {statuses['PAID_UNFULFILLED']} PAID_UNFULFILLED; sold "
            f"{sold}; server runs {supervisor.runs}, crashes {supervisor.crashes}; retries: "
            f"checkout {counts['checkout retries']}, webhook 409 {counts['webhook 409']}, "
            f"5xx {counts['webhook 5xx']}, no answer {counts['webhook no answer']}; traffic "
            f"{traffic_s:.1f} s")


def lost_session_payments(data):
    """Deliveries that found no session, from the servers' logs (the webhook logs each one):
    (how many stored their order then, how many in all)."""
    recorded = seen = 0
    for path in glob.glob(os.path.join(data, "server*.log")):
        with open(path, errors="replace") as log_file:
            for line in log_file:
                if "found no session" in line:
                    seen += 1
                    recorded += "already stored" not in line
    return recorded, seen


def keep_logs(data, destination):
    logs = glob.glob(os.path.join(data, "*.log"))
    if logs:
        os.makedirs(destination, exist_ok=True)
        for path in logs:
            shutil.copy(path, destination)


# --- the suite ----------------------------------------------------------------------------------

COLUMNS = [("level", "level"), ("fault", "fault"), ("runs", "runs"), ("orders", "orders"),
           ("lost", "lost"), ("doubled", "doubled"), ("oversold", "oversold"),
           ("leaked", "leaked holds")]


def table(results):
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |",
             "|---|---|" + "---:|" * (len(COLUMNS) - 2)]
    for r in results:
        lines.append("| " + " | ".join(str(r[key]) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def failed(result):
    return bool(result["problems"]) or any(result[k] for k in ("lost", "doubled", "oversold",
                                                               "leaked"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="CI size (about 160 orders a row)")
    parser.add_argument("--orders", type=int, default=0, help="orders per row (default by size)")
    parser.add_argument("--levels", default="1,2,3", help="levels to run, e.g. 1,2")
    parser.add_argument("--faults", default="", help="only faults whose name contains one of "
                        "these comma-separated words, e.g. after_settle,redis")
    parser.add_argument("--jobs", type=int, default=3, help="rows run at the same time")
    parser.add_argument("--seed", default="tigerfans")
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--logs", default=None, help="where each row's service and server "
                        "logs are kept (default BUILD_DIR/faults)")
    options = parser.parse_args()
    options.size = "small" if options.small else "full"
    options.logs = options.logs or os.path.join(options.build_dir, "faults")
    wanted_levels = {int(x) for x in options.levels.split(",") if x}
    wanted_faults = [w for w in options.faults.split(",") if w]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("faults: terminated"))

    begun = time.monotonic()
    log(f"{options.size} size, {options.jobs} rows at a time, commit {commit()}, "
        f"{machine()['cpu']}, "
        f"{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}")
    rows, skipped = [], []
    for level in LEVELS:
        if level["level"] not in wanted_levels:
            continue
        if level["level"] == 3 and not os.environ.get("TIGERBEETLE_BIN"):
            skipped.append(f"level 3 ({level['name']}) skipped: TIGERBEETLE_BIN is not set "
                           "(point it at a TigerBeetle 0.17.8 server binary to include it)")
            continue
        rows += [(level, fault) for fault, levels in FAULTS if level["level"] in levels and
                 (not wanted_faults or any(w in fault for w in wanted_faults))]
    shutil.rmtree(options.logs, ignore_errors=True)
    workdir = tempfile.mkdtemp(prefix="tigerfans-faults-")
    os.chmod(workdir, 0o755)  # PostgreSQL runs as its own user when we are root.

    def row(numbered):
        index, (level, fault) = numbered
        result = run_row(level, fault, options, workdir, index)
        log(f"{level['name']:8} {fault:32} {'FAILED' if failed(result) else 'ok':6} "
            f"{result['seconds']:5.1f} s  {result.get('detail', '')}")
        for problem in result["problems"][:10]:
            log(f"    {level['name']} {fault}: {problem}")
        return result

    try:
        # Rows mostly wait (TTLs, leases, restarts): a few at a time fit on two cores.
        with concurrent.futures.ThreadPoolExecutor(options.jobs) as pool:
            try:
                results = list(pool.map(row, enumerate(rows, 1)))
            except BaseException:  # Ctrl-C, SIGTERM: the running rows stop and clean up.
                ABORT.set()
                raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(table(results))
    for line in skipped:
        print(line)
    bad = [r for r in results if failed(r)]
    print(f"logs of every row: {options.logs}; {time.monotonic() - begun:.0f} s in all")
    print(f"faults: {len(results) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad or not results else 0


if __name__ == "__main__":
    sys.exit(main())

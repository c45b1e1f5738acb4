"""Fresh services and a fresh server for one level, from Python (standard library only).

Shared by bench/run_bench.py, tests/faults/run_faults.py and tests/scripts/: `Stack` starts
PostgreSQL, Redis and (level 3) a TigerBeetle cluster of `replicas` replicas under its own data
folder with scripts/services.sh, then build/tigerfans on a free 127.0.0.1 port (`servers`
processes sharing it, as SERVER_PROCESSES starts them), and stops both again. Each server
process can be restarted on the same port and the services started again with the same ports,
so a test can kill any of them and bring it back.
"""

import json
import os
import platform
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVICES = os.path.join(ROOT, "scripts/services.sh")
LEVELS = [
    {"name": "pg/pg", "level": 1, "ACCT_BACKEND": "pg", "PAYSESSION_BACKEND": "pg"},
    {"name": "pg/redis", "level": 2, "ACCT_BACKEND": "pg", "PAYSESSION_BACKEND": "redis"},
    {"name": "tb/redis", "level": 3, "ACCT_BACKEND": "tb", "PAYSESSION_BACKEND": "redis"},
]
SERVER_START_TIMEOUT_S = 60


HANDED_OUT = set()  # Ports this process gave out: free now, but taken once their user starts.


def free_port(count=1):
    """A free 127.0.0.1 port whose next count - 1 ports are free too (a cluster's replicas),
    none of them handed out before by this process."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + count > 65536 or HANDED_OUT & set(range(port, port + count)):
            continue
        try:
            for offset in range(1, count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        HANDED_OUT.update(range(port, port + count))
        return port


def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            memory_kib = int(f.readline().split()[1])
    except OSError:
        memory_kib = 0
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kib / 2**20, 1),
            "kernel": platform.release(), "hostname": socket.gethostname()}


def commit():
    try:
        return subprocess.check_output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                       text=True, stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class LevelUnavailable(Exception):
    """A level this machine cannot run (no TigerBeetle server binary): skipped, and said so."""


def pid_listens(pid, port):
    """Whether process `pid` holds a TCP socket listening on `port` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except OSError:
            continue
        inodes |= {row[9] for row in rows
                   if int(row[1].rsplit(":", 1)[1], 16) == port and row[3] == "0A"}
    try:
        links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:
        return False
    return any(f"socket:[{inode}]" in links for inode in inodes)


class Stack:
    """Fresh services and a fresh server for one level. `data` is the folder of this stack's
    services (DATA of scripts/services.sh); `settings` what services.sh wrote to DATA/env."""

    def __init__(self, level, workdir, build_dir, env_extra, name=None, servers=1, replicas=1,
                 metrics_ports=False):
        self.level = level
        self.data = os.path.join(workdir, name or level["name"].replace("/", "_"))
        self.build_dir = build_dir
        self.env_extra = env_extra
        self.port = free_port()
        self.servers = [None] * servers  # One Popen per server process, by index.
        # With `metrics_ports`, each process also serves /metrics alone (METRICS_PORT).
        self.metrics_ports = [free_port() for _ in range(servers)] if metrics_ports else []
        self.log = None
        self.settings = {}
        # The same ports on every (re)start of the services.
        self.replicas = replicas  # TigerBeetle replicas (level 3): 1 or 3.
        self.service_env = dict(os.environ, ACCT_BACKEND=level["ACCT_BACKEND"],
                                PG_PORT=str(free_port()), TB_PORT=str(free_port(replicas)),
                                TB_REPLICAS=str(replicas))

    def __enter__(self):
        try:
            self.start_services()
            wanted = self.level["ACCT_BACKEND"]
            if self.settings.get("ACCT_BACKEND", wanted) != wanted:
                raise LevelUnavailable("no TigerBeetle server binary (set TIGERBEETLE_BIN)")
            for index in range(len(self.servers)):
                self.start_server(index=index)
        except BaseException:
            self.__exit__()
            raise
        return self

    @property
    def server(self):
        """The first server process (the only one unless `servers` was above 1)."""
        return self.servers[0]

    def __exit__(self, *exc):
        self.stop_server()
        subprocess.run([SERVICES, "stop", self.data], stdout=subprocess.DEVNULL)
        if self.log:
            self.log.close()

    def start_services(self):
        """Starts whatever of the stack's services is not running (all of them the first
        time) and reads DATA/env."""
        subprocess.run([SERVICES, "start", self.data], check=True, env=self.service_env,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(self.data, "env")) as f:
            for line in f:
                name, value = line.strip().removeprefix("export ").split("=", 1)
                self.settings[name] = value.strip("'")

    def server_env(self, extra_env=None):
        """The environment the server (and `tigerfans reconcile`) runs with. No periodic
        reconciliation: measurements stay free of ledger scans, and the fault suite's final
        pass finds whatever the webhooks failed to write. No per-address rate limit and no email
        limit: every simulated fan comes from 127.0.0.1, and the load client's fans (fan<i>,
        user<i>) come back in every run against the same stores."""
        return {**os.environ, "RECONCILE_INTERVAL_SECONDS": "0", "RATE_LIMIT_PER_SECOND": "0",
                "TICKETS_PER_EMAIL": "0", **self.settings, **self.env_extra, **(extra_env or {}),
                "ACCT_BACKEND": self.level["ACCT_BACKEND"],
                "PAYSESSION_BACKEND": self.level["PAYSESSION_BACKEND"],
                "PORT": str(self.port), "HOST": "127.0.0.1", "LOG_LEVEL": "warn"}

    def reconcile(self, *args):
        """Runs one `tigerfans reconcile --json` pass against this stack's stores; returns its
        exit code and report (None when it printed none). Its log goes to DATA/server.log."""
        env = self.server_env({"TIGERFANS_CRASH_AT": ""})
        result = subprocess.run([os.path.join(self.build_dir, "tigerfans"), "reconcile",
                                 "--json", *args], env=env, stdout=subprocess.PIPE,
                                stderr=self.log or subprocess.DEVNULL, text=True, timeout=300)
        try:
            return result.returncode, json.loads(result.stdout)
        except ValueError:
            return result.returncode, None

    def start_server(self, extra_env=None, healthy=True, index=0):
        """Starts server process `index` and waits until it listens; with `healthy`, until
        /healthz answers 200 (every store reachable). Its output is appended to
        DATA/server.log."""
        server_env = self.server_env(extra_env)
        if len(self.servers) > 1:
            server_env.update(SERVER_PROCESSES=str(len(self.servers)), SERVER_NAME=f"s{index}")
        if self.metrics_ports:
            server_env["METRICS_PORT"] = str(self.metrics_ports[index])
        if self.log is None:
            self.log = open(os.path.join(self.data, "server.log"), "a")
        server = subprocess.Popen([os.path.join(self.build_dir, "tigerfans")], env=server_env,
                                  stdout=self.log, stderr=subprocess.STDOUT)
        self.servers[index] = server
        deadline = time.time() + SERVER_START_TIMEOUT_S
        while time.time() < deadline:
            # With a shared port, /healthz may come from another process: ask the kernel first.
            listening = len(self.servers) == 1 or self.listening(server.pid)
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as r:
                    if r.status == 200 and listening:
                        return server
            except urllib.error.HTTPError:
                if not healthy and listening:
                    return server  # It listens; a store is still down.
            except OSError:
                pass
            if server.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"server for {self.level['name']} did not start; see {self.log.name}")

    def listening(self, pid):
        """Whether process `pid` holds a socket listening on this stack's port."""
        return pid_listens(pid, self.port)

    def answering_servers(self, attempts=64):
        """The names of the server processes that answer /healthz over `attempts` fresh
        connections (the kernel picks a process per connection)."""
        names = set()
        for _ in range(attempts):
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=5) as r:
                    names.add(json.loads(r.read()).get("server"))
            except (OSError, ValueError):
                continue
        return names

    def stop_server(self):
        """Stops every server process gracefully (SIGTERM), all at once."""
        running = [s for s in self.servers if s and s.poll() is None]
        for server in running:
            server.send_signal(signal.SIGTERM)
        for server in running:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

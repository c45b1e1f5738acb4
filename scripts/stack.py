"""Fresh services and a fresh server for one level, from Python (standard library only).

Shared by bench/run_bench.py and tests/faults/run_faults.py: `Stack` starts PostgreSQL, Redis
and (level 3) a TigerBeetle replica under its own data folder with scripts/services.sh, then
build/tigerfans on a free 127.0.0.1 port, and stops both again. The server can be restarted
on the same port and the services started again with the same ports, so a test can kill any
of them and bring it back.
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Stack:
    """Fresh services and a fresh server for one level. `data` is the folder of this stack's
    services (DATA of scripts/services.sh); `settings` what services.sh wrote to DATA/env."""

    def __init__(self, level, workdir, build_dir, env_extra, name=None):
        self.level = level
        self.data = os.path.join(workdir, name or level["name"].replace("/", "_"))
        self.build_dir = build_dir
        self.env_extra = env_extra
        self.port = free_port()
        self.server = None
        self.log = None
        self.settings = {}
        # The same ports on every (re)start of the services.
        self.service_env = dict(os.environ, ACCT_BACKEND=level["ACCT_BACKEND"],
                                PG_PORT=str(free_port()), TB_PORT=str(free_port()))

    def __enter__(self):
        try:
            self.start_services()
            wanted = self.level["ACCT_BACKEND"]
            if self.settings.get("ACCT_BACKEND", wanted) != wanted:
                raise LevelUnavailable("no TigerBeetle server binary (set TIGERBEETLE_BIN)")
            self.start_server()
        except BaseException:
            self.__exit__()
            raise
        return self

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

    def start_server(self, extra_env=None, healthy=True):
        """Starts the server and waits until it listens; with `healthy`, until /healthz
        answers 200 (every store reachable). Its output is appended to DATA/server.log."""
        server_env = self.server_env(extra_env)
        if self.log is None:
            self.log = open(os.path.join(self.data, "server.log"), "a")
        self.server = subprocess.Popen([os.path.join(self.build_dir, "tigerfans")], env=server_env,
                                       stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + SERVER_START_TIMEOUT_S
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as r:
                    if r.status == 200:
                        return self.server
            except urllib.error.HTTPError:
                if not healthy:
                    return self.server  # It listens; a store is still down.
            except OSError:
                pass
            if self.server.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"server for {self.level['name']} did not start; see {self.log.name}")

    def stop_server(self):
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

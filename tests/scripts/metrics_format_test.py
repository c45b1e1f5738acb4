#!/usr/bin/python3
"""/metrics read by a real Prometheus parser (Debian's python3-prometheus-client), from a real
server at level 2 (PostgreSQL and Redis started by scripts/services.sh) that has served a few
checkouts: the exposition parses, and its names and series follow Prometheus's conventions
(one prefix, help on every family, counters ending in _total, base units, histograms with
cumulative buckets that end at +Inf and agree with their _count). Two server processes share
the port, and each names itself in tigerfans_server_info. The checked-in Grafana dashboard
and Prometheus configuration (deploy/) parse, and every metric the dashboard queries is one the
server exports."""
import json
import math
import os
import re
import shutil
import sys
import tempfile
import unittest
import urllib.request

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from stack import LEVELS, Stack  # noqa: E402

DEPLOY = os.path.join(ROOT, "deploy")
BUILD_DIR = os.environ.get("TIGERFANS_BUILD_DIR", os.path.join(ROOT, "build"))
TOKEN = "metrics-format-token"
# Units Prometheus names in base form; a name must not carry a scaled one instead.
SCALED_UNITS = ("_ms", "_us", "_ns", "_milliseconds", "_microseconds", "_kib", "_mib", "_kb")


def request(stack, method, path, body=None, headers=None):
    return request_url(stack.url(path), method, body, headers)


def request_url(url, method="GET", body=None, headers=None):
    call = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(call, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def problems(text):
    """What breaks Prometheus's conventions in one exposition; raises when it does not parse."""
    found = []
    # The parser adds _total to a counter's samples itself: read the declared names.
    for line in text.splitlines():
        words = line.split()
        if words[:2] == ["#", "TYPE"] and words[3:] == ["counter"] and \
                not words[2].endswith("_total"):
            found.append(f"{words[2]}: a counter not ending in _total")
    seen = set()
    for family in text_string_to_metric_families(text):
        name = family.name
        if not name.startswith("tigerfans_"):
            found.append(f"{name}: not under tigerfans_")
        if not family.documentation.strip():
            found.append(f"{name}: no help")
        if family.type not in ("counter", "gauge", "histogram"):
            found.append(f"{name}: type {family.type}")
        if name.endswith(SCALED_UNITS):
            found.append(f"{name}: a scaled unit")
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            if key in seen:
                found.append(f"{sample.name}{sample.labels}: twice")
            seen.add(key)
        if family.type == "histogram":
            found += histogram_problems(family)
    return found


def histogram_problems(family):
    series = {}
    for sample in family.samples:
        key = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
        entry = series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if sample.name.endswith("_bucket"):
            entry["buckets"].append((float(sample.labels["le"]), sample.value))
        elif sample.name.endswith("_count"):
            entry["count"] = sample.value
        elif sample.name.endswith("_sum"):
            entry["sum"] = sample.value
    found = []
    for key, entry in series.items():
        where = f"{family.name}{dict(key)}"
        bounds = [b for b, _ in entry["buckets"]]
        counts = [c for _, c in entry["buckets"]]
        if bounds != sorted(set(bounds)):
            found.append(f"{where}: bucket bounds out of order or repeated")
        if not bounds or not math.isinf(bounds[-1]):
            found.append(f"{where}: no +Inf bucket")
        if counts != sorted(counts):
            found.append(f"{where}: buckets not cumulative")
        if counts and counts[-1] != entry["count"]:
            found.append(f"{where}: +Inf bucket {counts[-1]} but count {entry['count']}")
        if entry["sum"] is None:
            found.append(f"{where}: no _sum")
    return found


def exported_names(text):
    """Every series name a scrape can hold: declared names, and a histogram's three suffixes."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names |= {sample.name for sample in family.samples}
    for line in text.splitlines():
        words = line.split()
        if words[:2] == ["#", "TYPE"]:
            names.add(words[2])
    return names


def dashboard_metrics():
    """The tigerfans_ names the dashboard's queries use."""
    with open(os.path.join(DEPLOY, "grafana", "dashboards", "tigerfans.json")) as f:
        dashboard = json.load(f)
    names = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names |= set(re.findall(r"\btigerfans_[a-z0-9_]+", target["expr"]))
    return dashboard, names


def observed_histograms(text):
    return sum(1 for family in text_string_to_metric_families(text)
               if family.type == "histogram"
               for sample in family.samples
               if sample.name.endswith("_count") and sample.value > 0)


# What each check must catch, so that a clean scrape means something.
BAD = """# HELP tigerfans_requests Requests.
# TYPE tigerfans_requests counter
tigerfans_requests 3
# HELP tigerfans_wait_ms Waits.
# TYPE tigerfans_wait_ms histogram
tigerfans_wait_ms_bucket{le="1"} 5
tigerfans_wait_ms_bucket{le="2"} 4
tigerfans_wait_ms_count 4
# HELP other_up Up.
# TYPE other_up gauge
other_up 1
other_up 1
"""


class TheChecksCanFail(unittest.TestCase):
    def test_a_bad_exposition_shows_every_kind_of_problem(self):
        found = "\n".join(problems(BAD))
        for expected in ("tigerfans_requests: a counter not ending in _total",
                         "tigerfans_wait_ms: a scaled unit", "no +Inf bucket",
                         "buckets not cumulative", "no _sum", "other_up: not under tigerfans_",
                         "twice"):
            self.assertIn(expected, found)

    def test_garbage_does_not_parse(self):
        with self.assertRaises(ValueError):
            problems("tigerfans_x{le=\"1\" 2\n")


class MetricsExposition(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="tigerfans-metrics-")
        os.chmod(cls.workdir, 0o755)  # PostgreSQL runs as its own user when we are root.
        level = next(lvl for lvl in LEVELS if lvl["level"] == 2)
        cls.stack = Stack(level, cls.workdir, BUILD_DIR, {"METRICS_TOKEN": TOKEN}, servers=2,
                          metrics_ports=True)
        try:
            cls.stack.__enter__()
            for i in range(20):  # Checkouts: every store's histograms get observations.
                body = json.dumps({"cls": "AB"[i % 2], "customer_email": f"m{i}@example.com"})
                status, answer = request(cls.stack, "POST", "/api/checkout", body.encode(),
                                         {"Content-Type": "application/json"})
                assert status == 200, (status, answer)
            cls.texts = []
            for _ in range(16):  # Fresh connections: both processes get scraped.
                status, text = request(cls.stack, "GET", "/metrics", None,
                                       {"Authorization": f"Bearer {TOKEN}"})
                assert status == 200, (status, text)
                cls.texts.append(text)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.__exit__(None, None, None)
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def test_every_scrape_follows_the_conventions(self):
        for text in self.texts:
            self.assertEqual(problems(text), [])
            self.assertGreater(len(list(text_string_to_metric_families(text))), 10)

    def test_the_stores_histograms_saw_the_checkouts(self):
        self.assertGreater(max(observed_histograms(text) for text in self.texts), 3)

    def test_each_process_names_itself(self):
        names = set()
        for text in self.texts:
            infos = [f for f in text_string_to_metric_families(text)
                     if f.name == "tigerfans_server_info"]
            self.assertEqual(len(infos), 1)
            [sample] = infos[0].samples
            self.assertEqual(sample.value, 1)
            self.assertEqual(sample.labels["level"], "pg/redis")
            names.add(sample.labels["server"])
        # 16 scrapes over fresh connections miss one of two processes with a chance of 2^-15.
        self.assertEqual(names, {"s0", "s1"})

    def test_each_process_serves_its_own_metrics_port(self):
        for index, port in enumerate(self.stack.metrics_ports):
            scrape = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                            headers={"Authorization": f"Bearer {TOKEN}"})
            with urllib.request.urlopen(scrape, timeout=10) as r:
                text = r.read().decode()
            self.assertEqual(problems(text), [])
            [info] = [f for f in text_string_to_metric_families(text)
                      if f.name == "tigerfans_server_info"]
            self.assertEqual(info.samples[0].labels["server"], f"s{index}")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
                self.assertEqual(json.loads(r.read())["server"], f"s{index}")
            # Only those two: the shop's routes stay on the shared port.
            status, _ = request_url(f"http://127.0.0.1:{port}/api/inventory")
            self.assertEqual(status, 404)

    def test_the_dashboard_queries_only_metrics_the_server_exports(self):
        dashboard, wanted = dashboard_metrics()
        self.assertEqual(dashboard["uid"], "tigerfans")
        self.assertGreaterEqual(len(dashboard["panels"]), 8)
        exported = set().union(*(exported_names(text) for text in self.texts))
        # Level 2 has no TigerBeetle client: those names are checked against its source.
        with open(os.path.join(ROOT, "src", "accounting", "tigerbeetle", "requests.cpp")) as f:
            tigerbeetle_source = f.read()
        for name in sorted(wanted):
            if name.startswith("tigerfans_tb_"):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                self.assertIn(f'"{base}"', tigerbeetle_source, name)
            else:
                self.assertIn(name, exported, f"the dashboard queries {name}")


class DeployFiles(unittest.TestCase):
    def test_prometheus_scrapes_each_process_port_with_the_token(self):
        with open(os.path.join(DEPLOY, "prometheus", "prometheus.yml")) as f:
            config = yaml.safe_load(f)
        [job] = config["scrape_configs"]
        self.assertEqual(job["job_name"], "tigerfans")
        self.assertEqual(job["authorization"]["type"], "Bearer")
        targets = job["static_configs"][0]["targets"]
        self.assertEqual(len(set(targets)), len(targets))
        self.assertTrue(all(t.startswith("127.0.0.1:91") for t in targets), targets)

    def test_compose_profiles_name_files_that_exist(self):
        with open(os.path.join(ROOT, "docker-compose.yml")) as f:
            compose = yaml.safe_load(f)
        services = compose["services"]
        for replica in ("tigerbeetle-0", "tigerbeetle-1", "tigerbeetle-2"):
            self.assertEqual(services[replica]["profiles"], ["cluster"])
            self.assertIn("--replica-count=3", services[replica]["command"][0])
        for name in ("prometheus", "grafana"):
            self.assertEqual(services[name]["profiles"], ["monitoring"])
            for volume in services[name]["volumes"]:
                source = volume.split(":")[0]
                if source.endswith("metrics_token"):  # The operator's copy of the example.
                    source += ".example"
                self.assertTrue(os.path.exists(os.path.join(ROOT, source)), source)
        _, wanted = dashboard_metrics()
        self.assertTrue(wanted)


if __name__ == "__main__":
    unittest.main(verbosity=2)

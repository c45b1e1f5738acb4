// TigerBench: draws the recorded benchmark results (/api/bench/results) as SVG, no libraries.
(function () {
  const levelColors = { "pg/pg": "#868e96", "pg/redis": "#1c7ed6", "tb/redis": "#e8590c" };
  // The demo's phases always; the seat map's and the seat holds' when the run recorded them.
  const demoPhases = ["reserve", "commit", "checkout", "webhook"];
  const seatPhases = ["seats", "seats-304", "seat-holds", "seat-voids"];
  function phasesOf(runs) {
    const recorded = new Set(runs.map((r) => r.phase));
    return [...demoPhases, ...seatPhases.filter((p) => recorded.has(p))];
  }
  const svgNs = "http://www.w3.org/2000/svg";

  function el(name, attributes, text) {
    const node = document.createElementNS(svgNs, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function mean(values) {
    return values.reduce((sum, v) => sum + v, 0) / values.length;
  }
  function compact(n) {
    return n >= 1000 ? (n / 1000).toFixed(n >= 10000 ? 0 : 1) + "k" : String(Math.round(n));
  }

  // Means over the repeats of value(run) for each level and concurrency: a series per level.
  function seriesByLevel(runs, levels, concurrencies, value) {
    return levels.map((level) => ({ level, points: concurrencies.map((c) => {
      const values = runs.filter((r) => r.level === level && r.concurrency === c).map(value);
      return values.length ? { c, v: mean(values) } : null;
    }).filter(Boolean) }));
  }

  // A linear value axis from 0 to the largest value, five grid lines.
  function linearAxis(values) {
    const max = Math.max(1, ...values);
    return { at: (v) => v / max, ticks: [0, 1, 2, 3, 4].map((i) => max * i / 4), label: compact };
  }

  // A log value axis over the powers of ten around the values, a grid line at each.
  function logAxis(values) {
    const positive = values.filter((v) => v > 0);
    const smallest = positive.length ? Math.min(...positive) : 1;
    const largest = positive.length ? Math.max(...positive) : 10;
    const low = Math.floor(Math.log10(smallest));
    const high = Math.max(low + 1, Math.ceil(Math.log10(largest)));
    const ticks = [];
    for (let p = low; p <= high; p++) ticks.push(Number((10 ** p).toPrecision(1)));
    const at = (v) => (Math.log10(Math.max(v, 10 ** low)) - low) / (high - low);
    return { at, ticks, label: (v) => (v >= 1 ? compact(v) : String(v)) };
  }

  // One chart against concurrency (log scale): a polyline per line ({ color, dashed, name,
  // points: [{ c, v }] }), a dot with a tooltip per point (the value as `tip` writes it),
  // values placed by `axis`.
  function lineChart(title, label, concurrencies, lines, axis, tip) {
    const width = 420, height = 260, left = 52, bottom = 36, top = 28, right = 12;
    const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
    const x = (c) => left + (concurrencies.length < 2 ? 0 :
      (Math.log(c) - Math.log(concurrencies[0])) /
      (Math.log(concurrencies.at(-1)) - Math.log(concurrencies[0])) * (width - left - right));
    const y = (v) => height - bottom - axis.at(v) * (height - top - bottom);
    svg.append(el("text", { x: left, y: 18, class: "chart-title" }, title));
    for (const value of axis.ticks) {
      svg.append(el("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid" }));
      svg.append(el("text", { x: left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" },
        axis.label(value)));
    }
    for (const c of concurrencies) {
      svg.append(el("text", { x: x(c), y: height - bottom + 16, class: "axis", "text-anchor": "middle" }, c));
    }
    for (const line of lines) {
      if (!line.points.length) continue;
      const stroke = { fill: "none", stroke: line.color, "stroke-width": 2.5 };
      if (line.dashed) stroke["stroke-dasharray"] = "6 4";
      svg.append(el("polyline", { points: line.points.map((p) => `${x(p.c)},${y(p.v)}`).join(" "),
        ...stroke }));
      for (const p of line.points) {
        const dot = el("circle", { cx: x(p.c), cy: y(p.v), r: 3.5, fill: line.color });
        dot.append(el("title", {}, `${line.name} c=${p.c}: ${tip(p.v)}`));
        svg.append(dot);
      }
    }
    const card = document.createElement("article");
    card.className = "card chart";
    card.append(svg);
    return card;
  }

  function concurrenciesOf(runs) {
    return [...new Set(runs.map((r) => r.concurrency))].sort((a, b) => a - b);
  }

  // ops/s against concurrency, a line per level.
  function phaseChart(phase, runs, levels) {
    const mine = runs.filter((r) => r.phase === phase);
    const concurrencies = concurrenciesOf(mine);
    const lines = seriesByLevel(mine, levels, concurrencies, (r) => r.ops_per_s).map((s) =>
      ({ color: levelColors[s.level] || "#333", name: s.level, points: s.points }));
    const axis = linearAxis(lines.flatMap((l) => l.points.map((p) => p.v)));
    return lineChart(phase, `${phase} operations per second by concurrency`, concurrencies, lines,
      axis, (v) => `${Math.round(v)} ops/s`);
  }

  // p99 (solid) and p50 (dashed) latency in ms against concurrency, a pair of lines per level,
  // on a log scale: latency grows with concurrency by orders of magnitude.
  function latencyChart(phase, runs, levels) {
    const mine = runs.filter((r) => r.phase === phase);
    const concurrencies = concurrenciesOf(mine);
    const lines = [];
    for (const [name, key, dashed] of [["p99", "p99_s", false], ["p50", "p50_s", true]]) {
      const series = seriesByLevel(mine, levels, concurrencies, (r) => r.latency[key] * 1000);
      for (const s of series) {
        lines.push({ color: levelColors[s.level] || "#333", dashed, name: `${s.level} ${name}`,
          points: s.points });
      }
    }
    const axis = logAxis(lines.flatMap((l) => l.points.map((p) => p.v)));
    return lineChart(`${phase} latency (ms)`, `${phase} p50 and p99 latency by concurrency`,
      concurrencies, lines, axis, (v) => `${v.toFixed(2)} ms`);
  }

  function legend(levels) {
    const box = document.createElement("p");
    box.className = "legend";
    for (const level of levels) {
      const item = document.createElement("span");
      item.style.setProperty("--swatch", levelColors[level] || "#333");
      item.textContent = level;
      box.append(item);
    }
    return box;
  }

  // Horizontal bars, one group per level.
  function bars(rows, unit, format) {
    const max = Math.max(1e-12, ...rows.map((r) => r.value));
    const table = document.createElement("table");
    table.className = "bars";
    for (const row of rows) {
      const tr = document.createElement("tr");
      const label = document.createElement("td");
      label.textContent = row.label;
      const bar = document.createElement("td");
      const fill = document.createElement("div");
      fill.className = "bar";
      fill.style.width = (row.value / max * 100).toFixed(1) + "%";
      fill.style.background = levelColors[row.level] || "#333";
      bar.append(fill);
      const value = document.createElement("td");
      value.textContent = format(row.value) + unit;
      tr.append(label, bar, value);
      table.append(tr);
    }
    return table;
  }

  // Phases run in pairs (checkout+webhook, reserve+commit) and share one metrics scrape, so
  // the pair's first phase carries what the server recorded for both.
  const pairs = { checkout: "checkout+webhook", reserve: "reserve+commit" };

  // Means over the repeats of the runs at concurrency `pick(concurrencies)`, per label.
  function perLevelMeans(runs, levels, pick, entries) {
    const rows = [];
    for (const level of levels) {
      const mine = runs.filter((r) => r.level === level && pairs[r.phase]);
      if (!mine.length) continue;
      const chosen = pick([...new Set(mine.map((r) => r.concurrency))]);
      const values = {};
      for (const run of mine.filter((r) => r.concurrency === chosen)) {
        for (const [label, value] of entries(run)) (values[label] ||= []).push(value);
      }
      for (const [label, list] of Object.entries(values).sort()) {
        rows.push({ label: `${level} · ${label}`, value: mean(list), level });
      }
    }
    return rows;
  }

  // Server-side time per call at concurrency 100 (or the nearest), where queueing does not yet
  // dominate, during checkout+webhook.
  function components(runs, levels) {
    const near100 = (cs) => cs.reduce((a, b) => (Math.abs(b - 100) < Math.abs(a - 100) ? b : a));
    const rows = perLevelMeans(runs, levels, near100, (run) => run.phase !== "checkout" ? [] :
      Object.entries(run.components || {}).map(([name, c]) => [name, c.mean_s * 1000]));
    return rows.length ? bars(rows, " ms", (v) => v.toFixed(2)) : document.createTextNode("none recorded");
  }

  function batches(runs, levels) {
    const highest = (cs) => Math.max(...cs);
    const rows = perLevelMeans(runs, levels, highest, (run) =>
      Object.entries(run.batches || {}).map(([store, b]) => [`${store} (${pairs[run.phase]})`, b.mean]));
    return rows.length ? bars(rows, " per batch", (v) => v.toFixed(1)) : document.createTextNode("none recorded");
  }

  // A table row of plain-text cells.
  function row(texts) {
    const tr = document.createElement("tr");
    for (const text of texts) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  }

  function flows(result) {
    const body = document.querySelector("#flows tbody");
    body.replaceChildren(...result.flows.map((f) => {
      const cpu = f.server_cpu_us_per_ticket;
      return row([f.level, f.concurrency, Math.round(f.throughput_per_s),
        (f.end_to_end.p50_s * 1000).toFixed(1) + " ms", (f.end_to_end.p99_s * 1000).toFixed(1) + " ms",
        cpu == null ? "–" : Math.round(cpu) + " µs", f.paid, f.error]);
    }));
  }

  // The verdicts run_bench.py recorded (results from before it did have none: no card).
  function targets(result) {
    const rows = result.targets || [];
    document.getElementById("targets-card").hidden = rows.length === 0;
    document.querySelector("#targets tbody").replaceChildren(
      ...rows.map((t) => row([t.target, t.verdict, t.detail])));
  }

  async function load() {
    const meta = document.getElementById("bench-meta");
    const response = await fetch("/api/bench/results", { cache: "no-store" });
    if (!response.ok) {
      meta.textContent = "No results recorded yet: run `make bench`.";
      return;
    }
    const result = await response.json();
    const m = result.machine || {};
    meta.textContent = `${result.date} · commit ${result.commit} · ${m.cpu || "?"}, ` +
      `${m.cores} cores, ${m.memory_gib} GiB${result.tiny ? " · tiny smoke run" : ""}`;
    const levels = result.levels;
    const phases = phasesOf(result.runs);
    const charts = document.getElementById("phase-charts");
    charts.replaceChildren(legend(levels), ...phases.map((p) => phaseChart(p, result.runs, levels)));
    document.getElementById("latency-charts").replaceChildren(legend(levels),
      ...phases.map((p) => latencyChart(p, result.runs, levels)));
    targets(result);
    flows(result);
    document.getElementById("components").replaceChildren(components(result.runs, levels));
    document.getElementById("batches").replaceChildren(batches(result.runs, levels));
  }
  load();
})();

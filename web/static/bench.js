// TigerBench: draws the recorded benchmark results (/api/bench/results) as SVG, no libraries.
(function () {
  const levelColors = { "pg/pg": "#868e96", "pg/redis": "#1c7ed6", "tb/redis": "#e8590c" };
  const phases = ["reserve", "commit", "checkout", "webhook"];
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

  // One chart: ops/s against concurrency, a line per level.
  function phaseChart(phase, runs, levels) {
    const width = 420, height = 260, left = 52, bottom = 36, top = 28, right = 12;
    const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `${phase} operations per second by concurrency` });
    const mine = runs.filter((r) => r.phase === phase);
    const concurrencies = [...new Set(mine.map((r) => r.concurrency))].sort((a, b) => a - b);
    const series = levels.map((level) => ({ level, points: concurrencies.map((c) => {
      const values = mine.filter((r) => r.level === level && r.concurrency === c).map((r) => r.ops_per_s);
      return values.length ? { c, ops: mean(values) } : null;
    }).filter(Boolean) }));
    const maxOps = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.ops)));
    const x = (c) => left + (concurrencies.length < 2 ? 0 :
      (Math.log(c) - Math.log(concurrencies[0])) /
      (Math.log(concurrencies.at(-1)) - Math.log(concurrencies[0])) * (width - left - right));
    const y = (ops) => height - bottom - ops / maxOps * (height - top - bottom);
    svg.append(el("text", { x: left, y: 18, class: "chart-title" }, phase));
    for (let i = 0; i <= 4; i++) {
      const value = maxOps * i / 4;
      svg.append(el("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid" }));
      svg.append(el("text", { x: left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" }, compact(value)));
    }
    for (const c of concurrencies) {
      svg.append(el("text", { x: x(c), y: height - bottom + 16, class: "axis", "text-anchor": "middle" }, c));
    }
    for (const s of series) {
      if (!s.points.length) continue;
      const color = levelColors[s.level] || "#333";
      svg.append(el("polyline", { points: s.points.map((p) => `${x(p.c)},${y(p.ops)}`).join(" "),
        fill: "none", stroke: color, "stroke-width": 2.5 }));
      for (const p of s.points) {
        const dot = el("circle", { cx: x(p.c), cy: y(p.ops), r: 3.5, fill: color });
        dot.append(el("title", {}, `${s.level} c=${p.c}: ${Math.round(p.ops)} ops/s`));
        svg.append(dot);
      }
    }
    const card = document.createElement("article");
    card.className = "card chart";
    card.append(svg);
    return card;
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

  function flows(result) {
    const body = document.querySelector("#flows tbody");
    body.replaceChildren(...result.flows.map((f) => {
      const tr = document.createElement("tr");
      for (const text of [f.level, f.concurrency, Math.round(f.throughput_per_s),
        (f.end_to_end.p50_s * 1000).toFixed(1) + " ms", (f.end_to_end.p99_s * 1000).toFixed(1) + " ms",
        f.paid, f.error]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }));
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
    const charts = document.getElementById("phase-charts");
    charts.replaceChildren(legend(levels), ...phases.map((p) => phaseChart(p, result.runs, levels)));
    flows(result);
    document.getElementById("components").replaceChildren(components(result.runs, levels));
    document.getElementById("batches").replaceChildren(batches(result.runs, levels));
  }
  load();
})();

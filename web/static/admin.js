// Admin dashboard: last orders, the refund list, the reconciler's last pass, goodies, inventory
// and pending payments, refreshed by itself; "Reconcile now" runs a pass. The live view polls
// /api/admin/live every sample interval and draws its charts as SVG (no libraries); its
// buttons pause, resume and pace admission through POST /api/admin/admission.
(function () {
  const root = document.getElementById("admin");
  const refreshMs = 3000;
  const pendingShown = 10;
  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }
  async function json(url) {
    const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    if (response.status === 401) {
      window.location.assign("/admin/login?next=/admin");
      throw new Error("logged out");
    }
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  }
  // "A", or "seats 4, 5" for a seat order.
  function classOrSeats(order) {
    return order.seats && order.seats.length ? "seats " + order.seats.join(", ") : order.cls;
  }
  function showRefunds(items) {
    document.querySelector("#refunds tbody").replaceChildren(...items.map((order) => {
      const row = document.createElement("tr");
      row.append(cell(order.id), cell(classOrSeats(order)),
        cell((order.amount / 100).toFixed(2) + " " + order.currency.toUpperCase()),
        cell(order.email || "unknown"));
      return row;
    }));
  }
  function showDuplicatePayments(items) {
    document.querySelector("#duplicate-payments tbody").replaceChildren(...items.map((payment) => {
      const row = document.createElement("tr");
      row.append(cell(payment.payment_key), cell(payment.order_id),
        cell(payment.paid_by || "unknown: check with the provider first"),
        cell((payment.amount / 100).toFixed(2) + " " + payment.currency.toUpperCase()),
        cell(payment.email || "unknown"));
      return row;
    }));
  }
  // null: MockPay's list could not be read (its outbox did not start); an older server has none.
  function showUndeliveredPayments(items) {
    const owed = (value) => (value === true ? "yes" : value === false ? "no" : "check");
    const rows = items ? items.map((payment) => {
      const row = document.createElement("tr");
      row.append(cell(payment.event_key), cell(payment.order_id || "unknown"),
        cell(payment.order_status), cell(owed(payment.owed_back)),
        cell((payment.amount / 100).toFixed(2) + " " + payment.currency.toUpperCase()),
        cell(payment.email || "unknown"));
      return row;
    }) : [];
    document.querySelector("#undelivered-payments tbody").replaceChildren(...rows);
    document.getElementById("undelivered-unknown").hidden = items !== null;
  }
  function showReconcile(last, running) {
    const text = document.getElementById("reconcile");
    if (!last) {
      text.textContent = running ? "A pass is running." : "No pass yet.";
      return;
    }
    const at = new Date(last.at_us / 1000).toISOString().slice(0, 19).replace("T", " ");
    text.textContent = "Last pass " + at + ": " + last.written.length + " lost orders written, " +
      last.paid_but_unposted.length + " paid orders without a posted ticket, " +
      last.unfulfilled_but_posted.length + " unfulfilled orders with a posted ticket, " +
      last.open_holds + " holds open" + (last.clean ? "." : " — needs a look.");
  }
  async function reconcileNow() {
    const response = await fetch("/api/admin/reconcile",
      { method: "POST", cache: "no-store", credentials: "same-origin" });
    if (response.ok) showReconcile(await response.json(), false);
  }
  document.getElementById("reconcile-now").addEventListener("click", () => {
    reconcileNow().catch(() => { /* the next refresh shows the state */ });
  });
  async function refresh() {
    try {
      const [orders, goodies, inventory, pending, refunds, reconcile] = await Promise.all([
        json("/api/admin/orders?limit=" + root.dataset.limit),
        json("/api/admin/goodies"),
        json("/api/inventory"),
        json("/api/pending?limit=" + pendingShown),
        json("/api/admin/refunds?limit=" + root.dataset.limit),
        json("/api/admin/reconcile"),
      ]);
      showRefunds(refunds.items);
      showDuplicatePayments(refunds.duplicate_payments);
      showUndeliveredPayments(refunds.undelivered_payments);
      showReconcile(reconcile.last, reconcile.running);
      const body = document.querySelector("#orders tbody");
      body.replaceChildren(...orders.items.map((order) => {
        const row = document.createElement("tr");
        row.append(cell(order.paid_at_iso === "-" ? "-" : order.paid_at_iso.slice(0, 19).replace("T", " ")),
          cell(order.status, "status-" + order.status), cell(classOrSeats(order)),
          cell(order.ticket_code || "-"), cell(order.got_goodie ? "yes" : "no"), cell(order.email));
        return row;
      }));
      document.getElementById("goodies").textContent =
        goodies.used.toLocaleString() + " of " + goodies.limit.toLocaleString() + " given";
      const number = (n) => n.toLocaleString();
      document.getElementById("inventory").textContent = ["A", "B"].map((c) =>
        c + ": " + number(inventory[c].sold) + " sold, " + number(inventory[c].active_holds) +
        " held, " + number(inventory[c].available) + " left").join(" · ");
      document.getElementById("pending").textContent =
        number(pending.total) + " waiting for payment";
      document.getElementById("pending-list").replaceChildren(...pending.items.map((item) => {
        const li = document.createElement("li");
        li.textContent = "Class " + item.cls + " · " + item.email + " · " +
          Math.round(item.age_ms / 1000) + " s ago";
        return li;
      }));
    } catch (error) {
      /* shown as stale until the next refresh */
    }
  }
  refresh();
  setInterval(refresh, refreshMs);

  const live = document.getElementById("live");
  const windowMs = 5 * 60 * 1000;
  const svgNs = "http://www.w3.org/2000/svg";
  const stock = (cls) => (s) => (s.stock_left ? s.stock_left[cls] : null);
  const chartSpecs = [
    { id: "queue", title: "Queue length", series: [
      { name: "waiting", value: (s) => s.queue_length, color: "#1c7ed6" }] },
    { id: "admission", title: "Admissions a second", pausedBands: true, series: [
      { name: "admitted", value: (s) => s.admitted_per_s, color: "#e8590c" },
      { name: "target", value: (s) => s.target_per_s, color: "#495057", dashed: true }] },
    { id: "sales", title: "Checkouts and sales a second", series: [
      { name: "checkouts", value: (s) => s.checkouts_per_s, color: "#1c7ed6" },
      { name: "sales", value: (s) => s.sales_per_s, color: "#2b8a3e" }] },
    { id: "holds", title: "Active holds", series: [
      { name: "holds", value: (s) => s.active_holds, color: "#ae3ec9" }] },
    { id: "stock", title: "Stock left", series: [
      { name: "class A", value: stock("A"), color: "#e8590c" },
      { name: "class B", value: stock("B"), color: "#1c7ed6" }] },
    { id: "latency", title: "p99 latency (ms)", series: [
      { name: "p99", value: (s) => s.p99_ms, color: "#c92a2a" }] },
  ];
  let samples = [];
  let admission = null;
  let intervalMs = 1000;

  function svgEl(name, attributes, text) {
    const node = document.createElementNS(svgNs, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  // Axis labels: 2.5M, 40k, 7.
  function shortNumber(n) {
    if (n >= 1e6) return Number((n / 1e6).toPrecision(3)) + "M";
    if (n >= 1e4) return Number((n / 1e3).toPrecision(3)) + "k";
    return String(Number(n.toPrecision(3)));
  }
  // Legends: the exact figure, or a dash when it is unknown.
  function fullNumber(n) {
    if (typeof n !== "number") return "–";
    return Number.isInteger(n) ? n.toLocaleString() : n.toFixed(n < 10 ? 2 : 1);
  }
  // The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 2).
  function niceCeiling(value) {
    const power = 10 ** Math.floor(Math.log10(Math.max(2, value)));
    return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= Math.max(2, value));
  }

  // A frame per chart, drawn into on every poll: an SVG and a legend with each line's last value.
  const frames = chartSpecs.map((spec) => {
    const figure = document.createElement("figure");
    figure.className = "live-chart";
    figure.id = "chart-" + spec.id;
    const caption = document.createElement("figcaption");
    caption.textContent = spec.title;
    const svg = svgEl("svg", { viewBox: "0 0 420 170", role: "img", "aria-label": spec.title });
    const legend = document.createElement("p");
    legend.className = "legend";
    figure.append(caption, svg, legend);
    document.getElementById("live-charts").append(figure);
    return { spec, figure, svg, legend };
  });

  // Time on x (the last five minutes up to the newest sample), 0 to the largest value on y;
  // an unknown value breaks its line; paused stretches are shaded.
  function draw(frame) {
    const width = 420, height = 170, left = 44, right = 8, top = 8, bottom = 22;
    const end = samples.length ? samples[samples.length - 1].t_ms : Date.now();
    const x = (t) => left + (1 - (end - t) / windowMs) * (width - left - right);
    const values = frame.spec.series.flatMap((line) => samples.map(line.value))
      .filter((v) => typeof v === "number");
    const max = niceCeiling(Math.max(0, ...values));
    const y = (v) => height - bottom - (v / max) * (height - top - bottom);
    const nodes = [];
    if (frame.spec.pausedBands) {
      let start = null;
      samples.forEach((s, i) => {
        const last = i === samples.length - 1;
        if (s.paused && start === null) start = Math.max(0, i - 1);
        if (start !== null && (!s.paused || last)) {
          const from = x(samples[start].t_ms);
          const to = x(s.t_ms);
          nodes.push(svgEl("rect", { x: from, y: top, width: Math.max(2, to - from),
            height: height - top - bottom, class: "paused-band" }));
          start = null;
        }
      });
    }
    for (const tick of [0, 0.5, 1]) {
      nodes.push(svgEl("line", { x1: left, x2: width - right, y1: y(max * tick), y2: y(max * tick),
        class: "grid" }));
      nodes.push(svgEl("text", { x: left - 4, y: y(max * tick) + 4, class: "axis",
        "text-anchor": "end" }, shortNumber(max * tick)));
    }
    for (const [label, t] of [["−5 min", end - windowMs], ["now", end]]) {
      nodes.push(svgEl("text", { x: x(t), y: height - 6, class: "axis",
        "text-anchor": t === end ? "end" : "start" }, label));
    }
    let points = 0;
    for (const line of frame.spec.series) {
      let run = [];
      const flush = () => {
        if (run.length) {
          const stroke = { fill: "none", stroke: line.color, "stroke-width": 2,
            "data-series": line.name, points: run.join(" ") };
          if (line.dashed) stroke["stroke-dasharray"] = "5 4";
          nodes.push(svgEl("polyline", stroke));
        }
        run = [];
      };
      for (const s of samples) {
        const v = line.value(s);
        if (typeof v !== "number") {
          flush();
          continue;
        }
        run.push(x(s.t_ms).toFixed(1) + "," + y(v).toFixed(1));
        points++;
      }
      flush();
    }
    frame.svg.replaceChildren(...nodes);
    frame.figure.dataset.points = String(points);
    const newest = samples[samples.length - 1];
    frame.legend.replaceChildren(...frame.spec.series.map((line) => {
      const span = document.createElement("span");
      span.style.setProperty("--swatch", line.color);
      span.dataset.series = line.name;
      span.textContent = line.name + ": " + fullNumber(newest ? line.value(newest) : null);
      return span;
    }));
  }

  function showAdmission() {
    if (!admission) return;
    const state = document.getElementById("admission-state");
    state.dataset.state = admission.paused ? "paused" : "running";
    state.textContent = (admission.paused ? "Admission paused" :
      "Admission running at " + admission.per_second.toLocaleString() + " a second") +
      (admission.enabled ? " · " + admission.waiting.toLocaleString() + " waiting" :
        " · waiting room off");
    document.getElementById("admission-pause").disabled = admission.paused;
    document.getElementById("admission-resume").disabled = !admission.paused;
    const input = document.getElementById("rate-input");
    if (document.activeElement !== input) input.value = admission.per_second;
  }

  async function pollLive() {
    try {
      const since = samples.length ? "?since_ms=" + samples[samples.length - 1].t_ms : "";
      const answer = await json("/api/admin/live" + since);
      intervalMs = answer.interval_ms || intervalMs;
      admission = answer.admission;
      samples = samples.concat(answer.samples);
      const newest = samples.length ? samples[samples.length - 1].t_ms : 0;
      samples = samples.filter((s) => s.t_ms > newest - windowMs);
      showAdmission();
      frames.forEach(draw);
    } catch (error) {
      /* the next poll tries again */
    }
    setTimeout(pollLive, intervalMs);
  }

  async function changeAdmission(change) {
    const error = document.getElementById("admission-error");
    error.textContent = "";
    const response = await fetch("/api/admin/admission", {
      method: "POST", cache: "no-store", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(change),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      error.textContent = answer.detail || "HTTP " + response.status;
      return;
    }
    admission = answer;
    showAdmission();
  }
  const failed = () => {
    document.getElementById("admission-error").textContent = "The server did not answer.";
  };
  document.getElementById("admission-pause").addEventListener("click", () => {
    changeAdmission({ paused: true }).catch(failed);
  });
  document.getElementById("admission-resume").addEventListener("click", () => {
    changeAdmission({ paused: false }).catch(failed);
  });
  document.getElementById("admission-rate").addEventListener("submit", (event) => {
    event.preventDefault();
    const rate = Number(document.getElementById("rate-input").value);
    const max = Number(live.dataset.rateMax);
    if (!Number.isInteger(rate) || rate < 1 || rate > max) {
      document.getElementById("admission-error").textContent =
        "The rate is a whole number from 1 to " + max.toLocaleString() + ".";
      return;
    }
    changeAdmission({ per_second: rate }).catch(failed);
  });
  pollLive();
})();

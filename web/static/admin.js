// Admin dashboard: last orders, the refund list, the reconciler's last pass, goodies, inventory
// and pending payments, refreshed by itself; "Reconcile now" runs a pass.
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
  function showRefunds(items) {
    document.querySelector("#refunds tbody").replaceChildren(...items.map((order) => {
      const row = document.createElement("tr");
      row.append(cell(order.id), cell(order.cls),
        cell((order.amount / 100).toFixed(2) + " " + order.currency.toUpperCase()),
        cell(order.email || "unknown"));
      return row;
    }));
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
      showReconcile(reconcile.last, reconcile.running);
      const body = document.querySelector("#orders tbody");
      body.replaceChildren(...orders.items.map((order) => {
        const row = document.createElement("tr");
        row.append(cell(order.paid_at_iso === "-" ? "-" : order.paid_at_iso.slice(0, 19).replace("T", " ")),
          cell(order.status, "status-" + order.status), cell(order.cls),
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
})();

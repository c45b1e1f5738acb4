// Admin dashboard: last orders, goodies, inventory and pending payments, refreshed by itself.
(function () {
  const root = document.getElementById("admin");
  const refreshMs = 3000;
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
  async function refresh() {
    try {
      const [orders, goodies, inventory, pending] = await Promise.all([
        json("/api/admin/orders?limit=" + root.dataset.limit),
        json("/api/admin/goodies"),
        json("/api/inventory"),
        json("/api/pending?limit=1"),
      ]);
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
      document.getElementById("inventory").textContent = ["A", "B"].map((c) =>
        c + ": " + inventory[c].sold + " sold, " + inventory[c].active_holds + " held, " +
        inventory[c].available + " left").join(" · ");
      document.getElementById("pending").textContent = pending.total + " waiting for payment";
    } catch (error) {
      /* shown as stale until the next refresh */
    }
  }
  refresh();
  setInterval(refresh, refreshMs);
})();

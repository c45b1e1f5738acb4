// Landing page: live availability per class from /api/inventory, refreshed every few seconds.
(function () {
  const refreshMs = 5000;
  async function refresh() {
    try {
      const response = await fetch("/api/inventory", { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const inventory = await response.json();
      document.querySelectorAll(".availability").forEach((node) => {
        const entry = inventory[node.dataset.class];
        if (!entry) return;
        node.classList.toggle("sold-out", entry.sold_out);
        node.textContent = entry.sold_out
          ? "Sold out (held tickets may come back when holds expire)"
          : entry.available.toLocaleString() + " of " + entry.capacity.toLocaleString() + " left";
      });
    } catch (error) {
      document.querySelectorAll(".availability").forEach((node) => {
        node.textContent = "Availability unknown right now";
      });
    }
  }
  refresh();
  setInterval(refresh, refreshMs);
})();

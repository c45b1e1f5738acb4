// Seat map page: draws the venue (GET /api/venue) as SVG, colours every seat from the seat map
// (GET /api/seats, asked again every few seconds with its ETag, so an unchanged map costs a 304),
// lets the fan pick up to 8 free seats with a pointer or the keyboard, and reserves them (POST
// /api/checkout with `seats`), or asks for the best seats together (`best_available`).
(function () {
  const svgNS = "http://www.w3.org/2000/svg";
  const pickedMax = 8;
  const refreshMs = 2000;
  const stateNames = ["free", "held", "sold"];
  const map = document.getElementById("seat-map");
  const venueName = document.getElementById("venue-name");
  const sectionSelect = document.getElementById("section");
  const categorySelect = document.getElementById("category");
  const cursorNote = document.getElementById("seat-cursor");
  const pickedNode = document.getElementById("picked");
  const totalNode = document.getElementById("total");
  const errorNode = document.getElementById("form-error");
  const seatsForm = document.getElementById("seats-form");
  const bestForm = document.getElementById("best-form");

  let venue = null;
  let rows = [];  // Every row, ascending by first seat, with its section and category.
  let nodes = [];  // Seat id -> its circle.
  let bytes = null;  // The seat map's two bits a seat.
  let etag = "";
  let cursor = -1;
  const picked = new Set();

  function stateOf(seat) {
    if (!bytes) return 0;
    return (bytes[seat >> 2] >> ((seat & 3) * 2)) & 3;
  }

  function rowOf(seat) {
    let low = 0;
    let high = rows.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (rows[middle].first_seat <= seat) low = middle; else high = middle - 1;
    }
    return rows[low];
  }

  function labelOf(seat) {
    const row = rowOf(seat);
    return row.section.name + ", row " + row.label + ", seat " +
      (row.first_number + seat - row.first_seat);
  }

  function priceOf(seat) {
    return rowOf(seat).price_cents;
  }

  function euros(cents) {
    return (cents / 100).toFixed(2);
  }

  function seatCentre(row, offset) {
    return [row.x + row.dx * offset, row.y + row.dy * offset];
  }

  // The box around some rows' seats (and the stage for the whole venue), with a margin.
  function boundsOf(someRows, withStage) {
    let box = withStage ? [venue.stage.x, venue.stage.y, venue.stage.x, venue.stage.y] : null;
    for (const row of someRows) {
      for (const offset of [0, row.seats - 1]) {
        const [x, y] = seatCentre(row, offset);
        box = box ? [Math.min(box[0], x), Math.min(box[1], y), Math.max(box[2], x),
          Math.max(box[3], y)] : [x, y, x, y];
      }
    }
    const margin = 20 + 0.05 * Math.max(box[2] - box[0], box[3] - box[1]);
    return [box[0] - margin, box[1] - margin, box[2] - box[0] + 2 * margin,
      box[3] - box[1] + 2 * margin];
  }

  function zoomTo(sectionIndex) {
    const shown = sectionIndex === "" ? rows : rows.filter((r) => r.sectionIndex === +sectionIndex);
    map.setAttribute("viewBox", boundsOf(shown, sectionIndex === "").join(" "));
  }

  function element(name, attributes) {
    const node = document.createElementNS(svgNS, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    return node;
  }

  function draw() {
    const stage = element("circle", { class: "stage", cx: venue.stage.x, cy: venue.stage.y, r: 12 });
    map.append(stage);
    const fragment = document.createDocumentFragment();
    nodes = new Array(venue.seats);
    for (const row of rows) {
      const step = Math.hypot(row.dx, row.dy) || 8;
      for (let offset = 0; offset < row.seats; offset++) {
        const [x, y] = seatCentre(row, offset);
        const seat = row.first_seat + offset;
        const node = element("circle", { class: "seat", cx: x, cy: y, r: step * 0.4,
          "data-seat": seat });
        nodes[seat] = node;
        fragment.append(node);
      }
    }
    map.append(fragment);
    zoomTo("");
  }

  function paint(seat) {
    const node = nodes[seat];
    const name = picked.has(seat) ? "picked" : stateNames[stateOf(seat)] || "sold";
    node.setAttribute("class", "seat " + name + (seat === cursor ? " cursor" : ""));
  }

  function paintAll() {
    for (let seat = 0; seat < nodes.length; seat++) paint(seat);
  }

  function showPicked() {
    const seats = [...picked].sort((a, b) => a - b);
    pickedNode.textContent = seats.length ? seats.map(labelOf).join("; ") : "none yet";
    totalNode.textContent = euros(seats.reduce((sum, seat) => sum + priceOf(seat), 0));
  }

  function showError(text) {
    errorNode.textContent = text;
    errorNode.hidden = !text;
  }

  function toggle(seat) {
    if (picked.has(seat)) {
      picked.delete(seat);
    } else if (stateOf(seat) !== 0) {
      showError(labelOf(seat) + " is not free.");
      return;
    } else if (picked.size >= pickedMax) {
      showError("At most " + pickedMax + " seats per order.");
      return;
    } else {
      picked.add(seat);
    }
    showError("");
    paint(seat);
    showPicked();
  }

  // Seats someone else took meanwhile are dropped from the pick, and the fan is told.
  function dropTaken(seats, why) {
    const lost = seats.filter((seat) => picked.delete(seat));
    lost.forEach(paint);
    showPicked();
    if (lost.length) showError(lost.map(labelOf).join("; ") + " " + why);
  }

  async function refresh() {
    try {
      const headers = etag ? { "If-None-Match": etag } : {};
      const response = await fetch("/api/seats", { cache: "no-store", headers });
      if (response.status === 200) {
        const body = await response.json();
        etag = response.headers.get("ETag") || body.etag || "";
        const text = atob(body.states);
        bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
        paintAll();
        dropTaken([...picked].filter((seat) => stateOf(seat) !== 0),
          "just went to someone else: pick others.");
      }
    } catch (error) {
      /* the map is a view; checkout itself decides */
    }
    setTimeout(refresh, refreshMs);
  }

  function moveCursor(seat) {
    const old = cursor;
    cursor = seat;
    if (old >= 0) paint(old);
    paint(seat);
    const state = picked.has(seat) ? "yours" : stateNames[stateOf(seat)];
    cursorNote.textContent = labelOf(seat) + ": " + state + ", € " + euros(priceOf(seat));
  }

  // Arrows walk along a row and across the rows of its section; Enter or Space picks.
  function onKey(event) {
    if (!venue) return;
    if (cursor < 0) {
      const section = sectionSelect.value;
      const first = section === "" ? rows[0] : rows.find((r) => r.sectionIndex === +section);
      moveCursor(first.first_seat);
      event.preventDefault();
      return;
    }
    const row = rowOf(cursor);
    const offset = cursor - row.first_seat;
    const index = rows.indexOf(row);
    let target = cursor;
    if (event.key === "ArrowRight") target = Math.min(cursor + 1, row.first_seat + row.seats - 1);
    else if (event.key === "ArrowLeft") target = Math.max(cursor - 1, row.first_seat);
    else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      const next = rows[index + (event.key === "ArrowUp" ? -1 : 1)];
      if (next && next.sectionIndex === row.sectionIndex) {
        target = next.first_seat + Math.min(offset, next.seats - 1);
      }
    } else if (event.key === "Enter" || event.key === " ") {
      toggle(cursor);
      moveCursor(cursor);
      event.preventDefault();
      return;
    } else {
      return;
    }
    event.preventDefault();
    moveCursor(target);
  }

  async function reserve(request, button) {
    showError("");
    const email = seatsForm.customer_email.value.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
      showError("Please enter a valid email address.");
      seatsForm.customer_email.focus();
      return;
    }
    button.disabled = true;
    try {
      const response = await fetch("/api/checkout", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign({ customer_email: email }, request)),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        window.location.assign(body.redirect_url);
        return;
      }
      if (body.error === "seats_taken") {
        dropTaken(body.seats || [], "were just taken by someone else: pick others.");
        if (!errorNode.textContent) showError("Some of these seats were just taken: pick others.");
      } else if (body.error === "seats_contended") {
        showError("Others were reserving the same seats at that moment: please try again.");
      } else if (body.error === "sold_out") {
        showError("No seats of this category are free together. Held seats may come back " +
          "when their holds expire.");
      } else {
        showError(body.detail || "Something went wrong (HTTP " + response.status + ").");
      }
    } catch (error) {
      showError("The shop cannot be reached. Please try again.");
    }
    button.disabled = false;
  }

  async function start() {
    const response = await fetch("/api/venue").catch(() => null);
    if (!response || !response.ok) {
      venueName.textContent = "This sale has no reserved seating: buy a ticket class instead.";
      seatsForm.hidden = true;
      bestForm.hidden = true;
      map.hidden = true;
      return;
    }
    venue = await response.json();
    venueName.textContent = venue.name + " · " + venue.seats.toLocaleString("en") + " seats";
    const prices = new Map(venue.categories.map((c) => [c.id, c.price_cents]));
    venue.sections.forEach((section, sectionIndex) => {
      sectionSelect.append(new Option(section.name, String(sectionIndex)));
      for (const row of section.rows) {
        rows.push(Object.assign({ section, sectionIndex, price_cents: prices.get(row.category) },
          row));
      }
    });
    rows.sort((a, b) => a.first_seat - b.first_seat);
    for (const category of venue.categories) {
      categorySelect.append(new Option(category.name + " · € " + euros(category.price_cents),
        category.id));
    }
    draw();
    showPicked();
    refresh();
  }

  map.addEventListener("click", (event) => {
    const seat = event.target.getAttribute && event.target.getAttribute("data-seat");
    if (seat === null || seat === undefined) return;
    toggle(+seat);
    moveCursor(+seat);
  });
  map.addEventListener("keydown", onKey);
  sectionSelect.addEventListener("change", () => zoomTo(sectionSelect.value));
  seatsForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (picked.size === 0) {
      showError("Pick at least one seat on the map first.");
      return;
    }
    reserve({ seats: [...picked].sort((a, b) => a - b) }, seatsForm.querySelector("button"));
  });
  bestForm.addEventListener("submit", (event) => {
    event.preventDefault();
    reserve({ best_available: { category: categorySelect.value, count: +bestForm.count.value } },
      bestForm.querySelector("button"));
  });
  start();
})();

// Success page: polls /api/orders/<id> until the order is recorded, then shows the ticket code,
// the seats of a seat order (named from the venue's layout), the goodie and the ticket's QR code
// (an SVG made by the server).
(function () {
  const root = document.getElementById("success");
  const orderId = root.dataset.order;
  const statusNode = document.getElementById("status");
  const pollMs = 500;
  const giveUpMs = 60000;
  const started = Date.now();
  function show(order) {
    if (order.status !== "PAID") {
      statusNode.textContent = order.status === "PAID_UNFULFILLED"
        ? "Your payment arrived after your reservation expired and the tickets were gone. " +
          "You will be refunded."
        : "This order was not paid (" + order.status + ").";
      return;
    }
    statusNode.textContent = "Payment confirmed.";
    document.getElementById("ticket-code").textContent = order.ticket_code;
    if (order.seats) {
      showSeats(order.seats);
    } else {
      document.getElementById("goodie").textContent = order.got_goodie
        ? "You also get a goodie!" : "The goodies are all gone, sorry.";
    }
    const qrUrl = "/api/orders/" + encodeURIComponent(orderId) + "/qr.svg";
    fetch(qrUrl).then((r) => (r.ok ? r.text() : "")).then((svg) => {
      document.getElementById("qr").innerHTML = svg;
    });
    const link = document.getElementById("qr-download");
    link.href = qrUrl;
    link.setAttribute("download", order.ticket_code + ".svg");
    document.getElementById("ticket").hidden = false;
  }
  // "Stalls, row A, seat 4" for each seat, from the venue's layout.
  async function showSeats(seats) {
    const node = document.getElementById("seats");
    let names = seats.map((seat) => "seat " + seat);
    try {
      const response = await fetch("/api/venue");
      if (response.ok) {
        const venue = await response.json();
        names = seats.map((seat) => {
          for (const section of venue.sections) {
            for (const row of section.rows) {
              if (seat >= row.first_seat && seat < row.first_seat + row.seats) {
                return section.name + ", row " + row.label + ", seat " +
                  (row.first_number + seat - row.first_seat);
              }
            }
          }
          return "seat " + seat;
        });
      }
    } catch (error) {
      /* the seat ids still say which seats */
    }
    node.textContent = "Your seats: " + names.join("; ");
    node.hidden = false;
  }
  async function poll() {
    if (!orderId) {
      statusNode.textContent = "No order given.";
      return;
    }
    try {
      const response = await fetch("/api/orders/" + encodeURIComponent(orderId), { cache: "no-store" });
      if (response.ok) {
        show(await response.json());
        return;
      }
    } catch (error) {
      /* keep polling */
    }
    if (Date.now() - started > giveUpMs) {
      statusNode.textContent = "Still waiting for the payment confirmation. Reload this page later.";
      return;
    }
    setTimeout(poll, pollMs);
  }
  poll();
})();

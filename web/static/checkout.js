// Checkout page: validates the email, posts /api/checkout and follows redirect_url to MockPay.
// With the waiting room on, checkout asks for an admission (the tf_admission cookie the queue
// page's status answer sets); a refusal sends the fan back to the queue.
(function () {
  const form = document.getElementById("checkout-form");
  const errorNode = document.getElementById("form-error");
  const outcome = document.getElementById("outcome");
  const messages = {
    failed: "Your payment failed. Your reservation was released; you can try again.",
    canceled: "You canceled the payment. Your reservation was released.",
  };
  if (outcome.dataset.status && messages[outcome.dataset.status]) {
    outcome.textContent = messages[outcome.dataset.status];
    outcome.classList.add("bad");
    outcome.hidden = false;
  }
  // Marks sold-out classes; they stay selectable because expiring holds give tickets back.
  async function markSoldOut() {
    try {
      const response = await fetch("/api/inventory", { cache: "no-store" });
      if (!response.ok) return;
      const inventory = await response.json();
      document.querySelectorAll("label.choice").forEach((label) => {
        const entry = inventory[label.dataset.class];
        const soldOut = Boolean(entry && entry.sold_out);
        label.classList.toggle("sold-out", soldOut);
        label.querySelector(".tag").textContent = soldOut
          ? "Sold out: held tickets may come back when holds expire" : "";
      });
    } catch (error) {
      /* availability is a hint; checkout itself decides */
    }
  }
  markSoldOut();
  function showError(text) {
    errorNode.textContent = text;
    errorNode.hidden = false;
  }
  // Refusals after which the queue is the way on; a malformed or forged token only gets a link.
  const backToQueue = ["admission_missing", "admission_expired", "admission_used_up"];
  const queueRedirectMs = 2500;
  function refusedAdmission(body) {
    showError((body.detail || "Checkout needs an admission from the queue.") + " ");
    const link = document.createElement("a");
    link.href = "/queue";
    link.textContent = "Go to the queue";
    errorNode.append(link);
    if (backToQueue.includes(body.error)) {
      errorNode.append(" (taking you there…)");
      setTimeout(() => window.location.assign("/queue"), queueRedirectMs);
      return true;
    }
    return false;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorNode.hidden = true;
    const email = form.customer_email.value.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
      showError("Please enter a valid email address.");
      form.customer_email.focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch("/api/checkout", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ cls: form.cls.value, customer_email: email }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        window.location.assign(body.redirect_url);
        return;
      }
      if (response.status === 403 && /^admission_/.test(body.error || "")) {
        if (refusedAdmission(body)) return;
      } else if (body.error === "ticket_limit") {
        showError("This email address has reached its limit: " + body.detail + ".");
      } else if (response.status === 409) {
        showError("Sold out. Held tickets may come back when their holds expire: try again soon.");
      } else {
        showError(body.detail || "Something went wrong (HTTP " + response.status + ").");
      }
    } catch (error) {
      showError("The shop cannot be reached. Please try again.");
    }
    button.disabled = false;
  });
})();

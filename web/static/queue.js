// Waiting room page: joins the queue (POST /api/queue/join), polls the entry's status
// (GET /api/queue/<id>) at growing intervals and goes on to checkout once admitted. The entry id
// lives in the tf_queue cookie the join sets, so a reload keeps the place; the status answer of an
// admitted entry sets the tf_admission cookie that checkout asks for.
(function () {
  const root = document.getElementById("queue");
  if (root.dataset.waitingRoom !== "on") return;

  const checkoutUrl = "/demo/checkout";
  const firstDelayMs = 1000;  // The first poll's wait, and the wait after a big move.
  const growth = 1.5;         // Each quiet poll waits this much longer than the one before...
  const maxDelayMs = 30000;   // ...up to the server's hint, and never more than this.
  const errorFirstDelayMs = 2000;
  const openingSpreadMs = 1000;  // Polls at the opening are spread over this much time.
  const bigMove = 0.25;          // A position this much smaller than the last resets the wait.
  const admittedPauseMs = 1200;  // How long "your turn" shows before checkout opens.
  const entryIdPattern = /^[0-9a-f]{32}$/;

  const statusNode = document.getElementById("queue-status");
  const notice = document.getElementById("queue-notice");
  const joinButton = document.getElementById("join-button");
  const joinError = document.getElementById("join-error");
  const panels = ["join", "prequeue", "waiting", "admitted"];

  let entryId = null;
  let delayMs = firstDelayMs;
  let errorDelayMs = errorFirstDelayMs;
  let pollTimer = null;
  let lastPosition = null;
  let opensAtMs = null;  // The sale's opening on this browser's clock, from the last answer.
  let countdownTimer = null;

  function readCookie(name) {
    const prefix = name + "=";
    const found = document.cookie.split("; ").find((part) => part.startsWith(prefix));
    return found ? decodeURIComponent(found.slice(prefix.length)) : null;
  }
  function clearQueueCookie() {
    document.cookie = "tf_queue=; Path=/; Max-Age=0; SameSite=Lax";
  }
  function setStatus(text) {
    if (statusNode.textContent !== text) statusNode.textContent = text;
  }
  function showNotice(text) {
    notice.textContent = text || "";
    notice.hidden = !text;
  }
  function showPanel(name) {
    panels.forEach((panel) => {
      document.getElementById("queue-" + panel).hidden = panel !== name;
    });
  }
  function plural(count, one, many) {
    return count.toLocaleString() + " " + (count === 1 ? one : many);
  }
  function clock(seconds) {
    const s = Math.max(0, Math.ceil(seconds));
    const two = (n) => String(n).padStart(2, "0");
    const hours = Math.floor(s / 3600);
    const rest = two(Math.floor((s % 3600) / 60)) + ":" + two(s % 60);
    return hours > 0 ? hours + ":" + rest : rest;
  }
  function waitText(seconds) {
    if (seconds < 60) return "less than a minute";
    if (seconds < 3600) return "about " + plural(Math.ceil(seconds / 60), "minute", "minutes");
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.ceil((seconds % 3600) / 60);
    return "about " + plural(hours, "hour", "hours") + " " + plural(minutes, "minute", "minutes");
  }

  // The place at first sight, per entry, so that the progress bar survives a reload.
  function firstPosition(position) {
    const key = "tf_queue_first";
    let stored = null;
    try {
      stored = JSON.parse(localStorage.getItem(key) || "null");
    } catch (error) {
      stored = null;
    }
    if (stored && stored.id === entryId && stored.position >= position) return stored.position;
    try {
      localStorage.setItem(key, JSON.stringify({ id: entryId, position: position }));
    } catch (error) {
      /* without storage the bar starts from this visit */
    }
    return position;
  }

  function schedule(waitMs) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, waitMs);
  }
  // The next quiet poll: the wait grows by `growth`, bounded by the server's hint and the cap.
  function nextDelay(hintMs) {
    const bound = Math.min(maxDelayMs, Math.max(firstDelayMs, hintMs || maxDelayMs));
    const wait = Math.min(delayMs, bound);
    delayMs = Math.min(delayMs * growth, bound);
    return wait;
  }

  function tickCountdown() {
    const left = (opensAtMs - Date.now()) / 1000;
    document.getElementById("opens-in").textContent = clock(left);
  }
  function stopCountdown() {
    clearInterval(countdownTimer);
    countdownTimer = null;
  }

  function showPrequeue(body) {
    showPanel("prequeue");
    setStatus("You are in the queue. The sale has not opened yet.");
    opensAtMs = Date.now() + body.sale_opens_in_s * 1000;
    tickCountdown();
    if (!countdownTimer) countdownTimer = setInterval(tickCountdown, 1000);
    // Poll again just after the opening, when the places are known.
    const untilOpening = Math.max(0, opensAtMs - Date.now()) + Math.random() * openingSpreadMs;
    schedule(Math.min(nextDelay(body.poll_after_ms), untilOpening));
  }

  function showWaiting(body) {
    stopCountdown();
    showPanel("waiting");
    if (lastPosition === null || body.position <= lastPosition * (1 - bigMove)) {
      delayMs = firstDelayMs;
    }
    lastPosition = body.position;
    setStatus("You are number " + body.position.toLocaleString() + " in the queue.");
    document.getElementById("position").textContent = body.position.toLocaleString();
    document.getElementById("ahead").textContent = body.ahead.toLocaleString();
    document.getElementById("eta").textContent = body.eta_s === null
      ? "not known yet: admission has only just started"
      : waitText(body.eta_s) + " (" + body.admit_per_second.toLocaleString() +
        " admitted a second)";
    const first = firstPosition(body.position);
    const progress = document.getElementById("queue-progress");
    progress.value = first > 0 ? Math.round(((first - body.position) / first) * 100) : 0;
    progress.textContent = progress.value + "%";
    schedule(nextDelay(body.poll_after_ms));
  }

  function showAdmitted(body) {
    stopCountdown();
    clearTimeout(pollTimer);
    document.getElementById("queue-progress").value = 100;
    // The admission cookie lasts as long as the token: without it the admission has expired.
    if (!readCookie("tf_admission")) {
      offerJoin("Your admission expired before you checked out. Join the queue again.");
      return;
    }
    if (body.tickets_left <= 0) {
      offerJoin("Your admission's checkouts are used up. Join the queue again for more.");
      return;
    }
    showPanel("admitted");
    const until = new Date(body.token_expires_at_ms).toLocaleTimeString();
    document.getElementById("admission-facts").textContent =
      "You may check out " + plural(body.tickets_left, "time", "times") + " until " + until + ".";
    setStatus("It's your turn! Taking you to checkout…");
    setTimeout(() => window.location.assign(checkoutUrl), admittedPauseMs);
  }

  function offerJoin(message) {
    stopCountdown();
    clearTimeout(pollTimer);
    clearQueueCookie();
    entryId = null;
    lastPosition = null;
    showPanel("join");
    setStatus(message);
    joinButton.disabled = false;
  }

  async function poll() {
    if (!entryId) return;
    let response;
    let body = {};
    try {
      response = await fetch("/api/queue/" + entryId, { cache: "no-store" });
      body = await response.json().catch(() => ({}));
    } catch (error) {
      response = null;
    }
    if (response && response.ok) {
      showNotice("");
      errorDelayMs = errorFirstDelayMs;
      if (body.state === "prequeue") showPrequeue(body);
      else if (body.state === "waiting") showWaiting(body);
      else if (body.state === "admitted") showAdmitted(body);
      return;
    }
    if (response && body.error === "waiting_room_off") {
      clearQueueCookie();
      root.dataset.waitingRoom = "off";
      return;
    }
    if (response && (response.status === 404 || response.status === 400)) {
      offerJoin("Your place in the queue is no longer known (it may have expired). Join again.");
      return;
    }
    // Server trouble or no network: the place is kept, so keep asking, less and less often.
    showNotice("The waiting room cannot be reached right now; trying again in " +
      Math.round(errorDelayMs / 1000) + " s. Your place is kept.");
    schedule(errorDelayMs);
    errorDelayMs = Math.min(errorDelayMs * 2, maxDelayMs);
  }

  async function join() {
    joinButton.disabled = true;
    joinError.hidden = true;
    try {
      const response = await fetch("/api/queue/join", { method: "POST" });
      const body = await response.json().catch(() => ({}));
      // 201: a new entry; 200: the entry this browser already waits with (another tab joined).
      const joined = response.status === 201 || response.status === 200;
      if (joined && entryIdPattern.test(body.entry_id || "")) {
        entryId = body.entry_id;
        delayMs = firstDelayMs;
        setStatus("You joined the queue.");
        poll();
        return;
      }
      if (body.error === "queue_not_open") {
        joinError.textContent =
          "The queue opens in " + clock(body.opens_in_s) + ". Come back then.";
      } else if (response.status === 429) {
        joinError.textContent = "Too many tries from here: please wait a moment and try again.";
      } else {
        joinError.textContent = body.detail || "Joining failed (HTTP " + response.status + ").";
      }
    } catch (error) {
      joinError.textContent = "The waiting room cannot be reached. Please try again.";
    }
    joinError.hidden = false;
    joinButton.disabled = false;
  }

  const opensAt = root.dataset.saleOpensAt ? new Date(root.dataset.saleOpensAt) : null;
  if (opensAt && !Number.isNaN(opensAt.getTime())) {
    document.getElementById("sale-opens").textContent = opensAt.getTime() > Date.now()
      ? "The sale opens " + opensAt.toLocaleString() + "."
      : "The sale is open.";
  }
  joinButton.addEventListener("click", join);
  const saved = readCookie("tf_queue");
  if (saved && entryIdPattern.test(saved)) {
    entryId = saved;
    poll();
  } else {
    showPanel("join");
    setStatus("You are not in the queue yet.");
  }
})();

// The fan's and the admin's journeys in Debian's headless Chromium, driven by playwright-core.
// Started by tests/integration/browser_test.cpp, which runs the servers and passes:
//   node journeys.mjs --base URL --soldout-base URL --queue-base URL --screenshots DIR
//     --admin-password PW
// The --queue-base server has its waiting room on and its sale opening a few seconds after it
// starts, so the waiting room's journey runs first.
// Each journey ends with a screenshot in DIR. Prints one line per journey and exits non-zero
// when any failed. Console errors and uncaught page errors fail the journey they happen in.
import { chromium, request } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, value, i, all) => {
    if (value.startsWith("--")) pairs.push([value.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
const base = args.base;
const soldOutBase = args["soldout-base"];
const queueBase = args["queue-base"];
const shots = args.screenshots;
const adminPassword = args["admin-password"];
const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const stepTimeoutMs = 15000;
mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// A fresh context per journey; collects console errors except the ones a journey expects.
async function withPage(browser, options, expectedErrors, run) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(stepTimeoutMs);
  const errors = [];
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    if (expectedErrors.some((pattern) => pattern.test(message.text()))) return;
    errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  try {
    await run(page);
    check(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  } finally {
    await context.close();
  }
}

async function buyTicket(page, root, cls, email) {
  await page.goto(`${root}/demo/checkout`);
  await page.check(`input[name=cls][value=${cls}]`);
  await page.fill("#email", email);
  await Promise.all([page.waitForURL(/\/mockpay\/mock_/), page.click("button[type=submit]")]);
}

// From the checkout page to a paid class B ticket with its code and QR; returns the code.
async function payAtCheckout(page, root, email, screenshot) {
  await page.check("input[name=cls][value=B]");
  await page.fill("#email", email);
  await Promise.all([page.waitForURL(/\/mockpay\/mock_/), page.click("button[type=submit]")]);
  check((await page.textContent("h1")).includes("35.00"), "MockPay shows the class B price");
  await Promise.all([page.waitForURL(/\/demo\/success\?order_id=/), page.click("text=Pay now")]);
  await page.waitForSelector("#ticket:not([hidden])");
  const code = (await page.textContent("#ticket-code")).trim();
  check(/^TCK-[A-Z2-9]{10}$/.test(code), `ticket code shown: ${code}`);
  await page.waitForSelector("#qr svg");
  const href = await page.getAttribute("#qr-download", "href");
  const qr = await page.request.get(new URL(href, root).toString());
  check(qr.ok() && qr.headers()["content-type"] === "image/svg+xml", "QR code downloads as SVG");
  check((await page.getAttribute("#qr-download", "download")) === `${code}.svg`, "download name");
  await page.screenshot({ path: join(shots, screenshot), fullPage: true });
  return code;
}

async function landingToTicket(page) {
  await page.goto(`${base}/`);
  await page.waitForFunction(() =>
    [...document.querySelectorAll(".availability")].every((n) => /left/.test(n.textContent)));
  await Promise.all([page.waitForURL(/\/demo\/checkout/), page.click("text=Get your ticket")]);
  return payAtCheckout(page, base, "browser-fan@example.com", "ticket-desktop.png");
}

async function queueCookie(page) {
  const found = (await page.context().cookies()).find((cookie) => cookie.name === "tf_queue");
  return found ? found.value : "";
}

// The waiting room: a fan joins before the sale opens (with others who join by the API, so the
// queue has places), sees the countdown, reloads and keeps the entry, and once the sale opens
// is admitted and taken to checkout by the page itself, where the admission cookie buys a ticket.
async function waitingRoom(page) {
  const states = [];
  const statusUrl = /\/api\/queue\/[0-9a-f]{32}$/;
  page.on("response", async (response) => {
    if (response.request().method() !== "GET" || !statusUrl.test(response.url())) return;
    const state = (await response.json().catch(() => ({}))).state;
    if (typeof state === "string") states.push(state);
  });
  await page.goto(`${queueBase}/`);
  await Promise.all([page.waitForURL(/\/queue$/), page.click("text=Get your ticket")]);
  await page.waitForSelector("#queue-join:not([hidden])");
  await page.click("#join-button");
  await page.waitForSelector("#queue-prequeue:not([hidden])");
  const countdown = (await page.textContent("#opens-in")).trim();
  check(/^\d\d:\d\d$/.test(countdown), `a countdown to the opening: ${countdown}`);
  for (let i = 0; i < 6; i++) {
    // A context of its own per fan: one keeps its tf_queue cookie, and a second join with it
    // answers the same entry.
    const other = await request.newContext();
    check((await other.post(`${queueBase}/api/queue/join`)).status() === 201, "another fan joins");
    await other.dispose();
  }
  const entry = await queueCookie(page);
  check(/^[0-9a-f]{32}$/.test(entry), `the join sets the tf_queue cookie (${entry})`);
  await page.screenshot({ path: join(shots, "queue-prequeue.png"), fullPage: true });
  await page.reload();
  await page.waitForSelector("#queue-prequeue:not([hidden])");
  check((await queueCookie(page)) === entry, "a reload keeps the same entry");
  await page.waitForURL(/\/demo\/checkout/, { timeout: 30000 });
  check(states[0] === "prequeue" && states[states.length - 1] === "admitted", `states ${states}`);
  const order = ["prequeue", "waiting", "admitted"];
  check(states.every((state, i) => i === 0 || order.indexOf(state) >= order.indexOf(states[i - 1])),
    `the entry's states only move forward: ${states}`);
  console.log(`  (the page saw: ${[...new Set(states)].join(", ")})`);
  const cookies = await page.context().cookies();
  check(cookies.some((cookie) => cookie.name === "tf_admission"), "the admission cookie is set");
  await payAtCheckout(page, queueBase, "queue-fan@example.com", "queue-ticket.png");
}

// With the waiting room on, checkout without an admission is refused, and the checkout page
// sends the fan to the queue, which fits a phone screen.
async function checkoutNeedsAdmission(page) {
  const refused = await page.request.post(`${queueBase}/api/checkout`, {
    data: { cls: "A", customer_email: "no-token@example.com" },
  });
  const body = await refused.json();
  check(refused.status() === 403 && body.error === "admission_missing",
    `checkout without an admission: ${refused.status()} ${body.error}`);
  await page.goto(`${queueBase}/demo/checkout`);
  await page.fill("#email", "no-token@example.com");
  await page.click("button[type=submit]");
  const error = await page.waitForSelector("#form-error:not([hidden])");
  check(/queue/.test(await error.textContent()), "checkout explains the refusal");
  await page.waitForURL(/\/queue$/);
  await page.waitForSelector("#queue-join:not([hidden])");
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  check(fits, "the queue page fits a phone screen");
  await page.screenshot({ path: join(shots, "queue-phone.png"), fullPage: true });
}

async function unpaid(page, outcome, button) {
  await buyTicket(page, base, "A", `${outcome}@example.com`);
  await Promise.all([page.waitForURL(new RegExp(`status=${outcome}`)), page.click(button)]);
  const notice = await page.waitForSelector("#outcome:not([hidden])");
  check((await notice.textContent()).toLowerCase().includes(outcome === "failed" ? "failed" : "canceled"),
    `checkout explains the ${outcome} payment`);
  await page.screenshot({ path: join(shots, `payment-${outcome}.png`), fullPage: true });
}

async function invalidEmail(page) {
  await page.goto(`${base}/demo/checkout`);
  await page.fill("#email", "not-an-email");
  await page.click("button[type=submit]");
  await page.waitForSelector("#form-error:not([hidden])");
  check(page.url().includes("/demo/checkout"), "stays on checkout");
  await page.screenshot({ path: join(shots, "invalid-email.png"), fullPage: true });
}

async function soldOut(page) {
  const hold = await page.request.post(`${soldOutBase}/api/checkout`, {
    data: { cls: "A", customer_email: "first@example.com" },
  });
  check(hold.ok(), "the only class A ticket is held");
  await page.goto(`${soldOutBase}/`);
  await page.waitForSelector(".availability[data-class=A].sold-out");
  check((await page.textContent(".availability[data-class=A]")).includes("Sold out"), "landing");
  await page.goto(`${soldOutBase}/demo/checkout`);
  await page.waitForSelector("label.sold-out input[value=A]");
  await page.check("input[name=cls][value=A]", { force: true });
  await page.fill("#email", "late@example.com");
  await page.click("button[type=submit]");
  const error = await page.waitForSelector("#form-error:not([hidden])");
  const text = await error.textContent();
  check(/sold out/i.test(text) && /expire/.test(text), `sold-out message: ${text}`);
  await page.screenshot({ path: join(shots, "sold-out.png"), fullPage: true });
}

// TICKETS_PER_EMAIL (4 by default): an address with four held tickets is told of its limit, not
// that the class is sold out.
async function emailLimit(page) {
  for (let i = 0; i < 4; i++) {
    const held = await page.request.post(`${base}/api/checkout`, {
      data: { cls: "B", customer_email: "limit@example.com" },
    });
    check(held.ok(), `ticket ${i + 1} of the address is held`);
  }
  await page.goto(`${base}/demo/checkout`);
  await page.check("input[name=cls][value=B]");
  await page.fill("#email", "Limit@Example.com");
  await page.click("button[type=submit]");
  const error = await page.waitForSelector("#form-error:not([hidden])");
  const text = await error.textContent();
  check(/limit/.test(text) && /at most 4 /.test(text) && !/sold out/i.test(text),
    `limit message: ${text}`);
  check(page.url().includes("/demo/checkout"), "stays on checkout");
  await page.screenshot({ path: join(shots, "email-limit.png"), fullPage: true });
}

// From the login form the admin page redirected to, with the right password.
// On the seat map: one seat by pointer, its neighbour by keyboard; pay; the success page names
// both seats. Row A of the hall is the front stalls at 95.00 a seat.
async function seatJourney(page) {
  await page.goto(`${base}/demo/checkout`);
  await Promise.all([page.waitForURL(/\/demo\/seats/), page.click("#seats-link a")]);
  await page.waitForSelector('#seat-map circle.seat.free[data-seat="0"]');
  const whole = await page.getAttribute("#seat-map", "viewBox");
  await page.selectOption("#section", { label: "Stalls" });
  check((await page.getAttribute("#seat-map", "viewBox")) !== whole, "a section zooms the map");
  await page.click('#seat-map circle[data-seat="0"]');
  await page.focus("#seat-map");
  await page.keyboard.press("ArrowRight");
  check(/row A, seat 2: free/.test(await page.textContent("#seat-cursor")),
    "the keyboard cursor names the next seat");
  await page.keyboard.press("Enter");
  const picked = await page.textContent("#picked");
  check(/row A, seat 1;.*row A, seat 2/.test(picked), `two seats picked: ${picked}`);
  check((await page.textContent("#total")).trim() === "190.00", "the total of two seats");
  await page.fill("#email", "seats@example.com");
  await Promise.all([page.waitForURL(/\/mockpay\/mock_/), page.click("#reserve")]);
  check((await page.textContent("h1")).includes("190.00"), "MockPay shows the seats' price");
  await Promise.all([page.waitForURL(/\/demo\/success\?order_id=/), page.click("text=Pay now")]);
  await page.waitForSelector("#seats:not([hidden])");
  const seats = await page.textContent("#seats");
  check(/row A, seat 1;.*row A, seat 2/.test(seats), `the success page names the seats: ${seats}`);
  check(/^TCK-/.test((await page.textContent("#ticket-code")).trim()), "a ticket code");
  await page.screenshot({ path: join(shots, "seats-success.png"), fullPage: true });
  // Back on the map, both seats show as sold.
  await page.goto(`${base}/demo/seats`);
  await page.waitForSelector('#seat-map circle.seat.sold[data-seat="1"]');
  await page.screenshot({ path: join(shots, "seats.png"), fullPage: true });
}

async function logIn(page) {
  await page.fill("#username", "admin");
  await page.fill("#password", adminPassword);
  await Promise.all([page.waitForURL(/\/admin$/), page.click("button[type=submit]")]);
}

async function admin(page, code) {
  await page.goto(`${base}/admin`);
  await page.waitForURL(/\/admin\/login/);
  await page.fill("#username", "admin");
  await page.fill("#password", "wrong-password");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  check((await page.textContent(".error")).includes("Invalid credentials"), "wrong password refused");
  await logIn(page);
  await page.waitForFunction((ticket) => document.querySelector("#orders").textContent.includes(ticket), code);
  check(/of 100,?000 given/.test(await page.textContent("#goodies")), "goodies used of the limit");
  check((await page.textContent("#orders")).includes("seats 0, 1"), "a seat order lists its seats");
  check(/waiting for payment/.test(await page.textContent("#pending")), "pending sessions shown");
  await page.screenshot({ path: join(shots, "admin.png"), fullPage: true });
  await Promise.all([page.waitForURL(`${base}/`), page.click("text=Log out")]);
  await page.goto(`${base}/admin`);
  await page.waitForURL(/\/admin\/login/);
}

// The live view: its charts gain a point a second; pausing admission shows the state and shades
// the admission chart from then on; resuming and a new rate show up in the state and the target.
async function adminLive(page) {
  await page.goto(`${base}/admin`);
  await page.waitForURL(/\/admin\/login/);
  await logIn(page);
  // The login's redirect may still be under way: the chart is there before it is read.
  await page.waitForSelector("#chart-queue");
  const points = () => page.evaluate(() => Number(document.querySelector("#chart-queue").dataset.points || 0));
  await page.waitForFunction(() => Number(document.querySelector("#chart-queue").dataset.points) > 0);
  const before = await points();
  await page.waitForFunction((seen) =>
    Number(document.querySelector("#chart-queue").dataset.points) > seen, before);
  check(await page.locator("#live-charts svg").count() === 6, "six live charts");
  check(await page.locator("#chart-admission polyline[data-series=target]").count() > 0,
    "the target rate is drawn");
  await page.waitForSelector("#admission-state[data-state=running]");

  await page.click("#admission-pause");
  await page.waitForSelector("#admission-state[data-state=paused]");
  check(/paused/i.test(await page.textContent("#admission-state")), "the state says paused");
  check(await page.isDisabled("#admission-pause"), "pause is disabled while paused");
  await page.waitForSelector("#chart-admission rect.paused-band");
  await page.screenshot({ path: join(shots, "admin-live-paused.png"), fullPage: true });

  await page.click("#admission-resume");
  await page.waitForSelector("#admission-state[data-state=running]");
  await page.fill("#rate-input", "7");
  await page.click("#admission-rate button[type=submit]");
  await page.waitForFunction(() => /at 7 a second/.test(document.querySelector("#admission-state").textContent));
  await page.waitForFunction(() =>
    document.querySelector("#chart-admission [data-series=target]:not(polyline)").textContent === "target: 7");
  await page.fill("#rate-input", "0");
  await page.click("#admission-rate button[type=submit]");
  check(/from 1 to/.test(await page.textContent("#admission-error")), "a rate of 0 is refused");
  const live = await (await page.request.get(`${base}/api/admin/live`)).json();
  check(live.admission.per_second === 7 && !live.admission.paused, "the server holds the new rate");
  await page.screenshot({ path: join(shots, "admin-live.png"), fullPage: true });
}

async function phone(page) {
  await page.goto(`${base}/`);
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  check(fits, "landing fits a phone screen without sideways scrolling");
  await page.screenshot({ path: join(shots, "landing-phone.png"), fullPage: true });
  await buyTicket(page, base, "A", "phone@example.com");
  const fitsPay = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  check(fitsPay, "MockPay fits a phone screen");
  await Promise.all([page.waitForURL(/\/demo\/success/), page.click("text=Pay now")]);
  await page.waitForSelector("#ticket:not([hidden])");
  await page.screenshot({ path: join(shots, "ticket-phone.png"), fullPage: true });
}

// Checkout with the keyboard only: Tab to the fields, arrows between classes, Enter to submit.
async function keyboard(page) {
  await page.goto(`${base}/demo/checkout`);
  await page.focus("input[name=cls][value=A]");
  await page.keyboard.press("ArrowDown");
  check(await page.isChecked("input[name=cls][value=B]"), "arrow keys pick the class");
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.id === "email"), "Tab reaches the email");
  await page.keyboard.type("keys@example.com");
  await Promise.all([page.waitForURL(/\/mockpay\//), page.keyboard.press("Enter")]);
  const maxTabs = 10;
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement.textContent.trim() === "Pay now")) break;
  }
  check(await page.evaluate(() => document.activeElement.textContent.trim() === "Pay now"),
    "Tab reaches the pay button");
  await Promise.all([page.waitForURL(/\/demo\/success/), page.keyboard.press("Enter")]);
  await page.waitForSelector("#ticket:not([hidden])");
}

// TigerBench draws the recorded results (the repository's bench/results/latest.json): a chart
// per phase (the seat phases too, when recorded) with a line per level, a latency chart per phase with a p99 and a dashed p50 line
// per level, the flow table, and the timing and batch-size bars.
async function benchPage(page) {
  await page.goto(`${base}/bench`);
  await page.waitForSelector("#flows tbody tr");
  const recorded = await (await page.request.get(`${base}/api/bench/results`)).json();
  // The four demo phases, and each seat phase the run recorded.
  const recordedPhases = new Set(recorded.runs.map((r) => r.phase));
  const phases = 4 + ["seats", "seats-304", "seat-holds", "seat-voids"]
    .filter((p) => recordedPhases.has(p)).length;
  const charts = await page.locator("#phase-charts svg").count();
  check(charts === phases, `a chart per phase (saw ${charts} of ${phases})`);
  const lines = await page.locator("#phase-charts svg polyline").count();
  check(lines === phases * recorded.levels.length, `a line per level in each chart (saw ${lines})`);
  const latencyCharts = await page.locator("#latency-charts svg").count();
  check(latencyCharts === phases, `a latency chart per phase (saw ${latencyCharts})`);
  const latencyLines = await page.locator("#latency-charts svg polyline").count();
  const p50Lines = await page.locator("#latency-charts svg polyline[stroke-dasharray]").count();
  check(latencyLines === 2 * phases * recorded.levels.length && p50Lines === latencyLines / 2,
    `a p99 and a dashed p50 line per level in each latency chart (saw ${latencyLines}, ` +
    `${p50Lines} dashed)`);
  // The targets' verdicts, when the run recorded them (bench/targets.py); older results have none.
  const verdicts = recorded.targets || [];
  const targetRows = await page.locator("#targets tbody tr").count();
  check(targetRows === verdicts.length, `a row per target (saw ${targetRows} of ${verdicts.length})`);
  check(await page.locator("#targets-card").isVisible() === verdicts.length > 0,
    "the targets shown only when recorded");
  if (verdicts.length > 0) {
    check((await page.textContent("#targets tbody tr:first-child")).includes(verdicts[0].verdict),
      "a target's verdict shown");
  }
  const flowRows = await page.locator("#flows tbody tr").count();
  check(flowRows === recorded.flows.length, `a table row per flow run (saw ${flowRows})`);
  check(await page.locator("#components .bar").count() > 0, "component timings drawn");
  check(await page.locator("#batches .bar").count() > 0, "batch sizes drawn");
  check((await page.textContent("#bench-meta")).includes(recorded.commit), "commit shown");
  await page.screenshot({ path: join(shots, "bench.png"), fullPage: true });
}

const expected409 = [/status of 409/];
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const desktop = { viewport: { width: 1280, height: 900 } };
const phoneSize = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
let ticket = "";
const journeys = [
  ["a fan joins the queue before the sale, keeps the place over a reload, is admitted and buys",
    desktop, [], waitingRoom],
  ["checkout without an admission is refused and sends the fan to the queue", phoneSize,
    [/status of 403/], checkoutNeedsAdmission],
  ["a fan buys a ticket from the landing page and gets its code and QR", desktop, [],
    async (page) => { ticket = await landingToTicket(page); }],
  ["a failed payment leads back to checkout with a message", desktop, [],
    (page) => unpaid(page, "failed", "text=Fail payment")],
  ["a canceled payment leads back to checkout with a message", desktop, [],
    (page) => unpaid(page, "canceled", "text=Cancel")],
  ["an invalid email is refused before anything is held", desktop, [], invalidEmail],
  ["a sold-out class is shown as such, with the note on expiring holds", desktop, expected409,
    soldOut],
  ["an address at its ticket limit is told so, not that the class is sold out", desktop,
    expected409, emailLimit],
  ["a fan picks two seats on the map, pays and sees them on the success page", desktop, [],
    seatJourney],
  ["the admin watches the live charts, pauses and resumes admission and changes its rate",
    desktop, [], adminLive],
  ["the admin logs in, sees the order and logs out; a wrong password is refused", desktop,
    [/status of 401/], (page) => admin(page, ticket)],
  ["the pages work on a phone-sized screen", phoneSize, [], phone],
  ["checkout and payment work with the keyboard alone", desktop, [], keyboard],
  ["the TigerBench page draws the recorded benchmark results", desktop, [], benchPage],
];
let passed = 0;
let failed = 0;
for (const [name, options, expectedErrors, run] of journeys) {
  const started = Date.now();
  try {
    await withPage(browser, options, expectedErrors, run);
    passed++;
    console.log(`ok - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failed++;
    console.log(`not ok - ${name}: ${error.message.split("\n")[0]}`);
  }
}
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

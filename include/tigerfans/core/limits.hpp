// Every limit of the server in one place, each with its unit in its name: the values this
// project chose and may tune. Exceeding one gives a clear error (413, 503), never unbounded
// growth. Facts of a protocol (the sizes TigerBeetle's ABI fixes) are declared with that ABI.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tigerfans::limits {

// HTTP server.
inline constexpr std::size_t http_header_bytes_max = 16 * 1024;
inline constexpr std::size_t http_body_bytes_max = 64 * 1024;
// What a request's Content-Length reserves at once: a header that names a large body pins no
// more than this until the body's bytes arrive (the body grows as they do).
inline constexpr std::size_t http_body_reserve_bytes_max = 4 * 1024;
inline constexpr std::size_t http_connections_max = 16'384;
// Above the load client's largest concurrency (1,000), far below what one address could take.
inline constexpr std::size_t http_connections_per_address_max = 2'048;
static_assert(http_connections_per_address_max <= http_connections_max);
// Descriptors kept for everything but client connections: store connections, files, logs.
inline constexpr std::size_t descriptors_reserved = 256;
// Accept failures (out of descriptors, for instance) pause accepting, doubling up to this.
inline constexpr std::uint32_t accept_pause_max_ms = 1'000;
inline constexpr std::uint32_t http_idle_timeout_ms = 60'000;
inline constexpr std::uint32_t http_request_timeout_ms = 30'000;
inline constexpr std::uint32_t shutdown_drain_timeout_ms = 5'000;

// HTTP client (MockPay's webhook delivery, tests, the load client).
inline constexpr std::size_t http_client_connections_max = 1'024;
inline constexpr std::uint32_t http_client_timeout_ms = 10'000;
inline constexpr std::size_t http_client_response_bytes_max = 8 * 1024 * 1024;

// Batchers: how many callers may wait in one store's queue before new ones get 503.
inline constexpr std::size_t batcher_queue_items_max = 200'000;

// TigerBeetle client: transfers per create_transfers request, the default and ceiling of
// TB_BATCH_EVENTS_MAX. What one request can carry at all is a fact of the protocol, declared
// with the ABI (src/accounting/tigerbeetle/abi.hpp); the ledger asserts this stays within it.
inline constexpr std::uint32_t tb_batch_events_max = 8189;
// Requests one client may have submitted at once (transfer batches, lookups, health probes).
// Each owns a pooled packet and buffers; beyond this, callers get `overloaded`.
inline constexpr std::size_t tb_packets_in_flight_max = 64;
// Transfer batches the ledger keeps in flight at once: the default and ceiling of
// TB_BATCHES_IN_FLIGHT. One by default: more batches in flight split the same transfers into
// more, smaller requests, and each request costs the replica a fixed share of work, which on a
// machine whose cores the replica shares with the server measured slower, not faster. Each
// takes one request slot at a time; the ceiling leaves most slots to the lookups (inventory,
// health probe, the reconciler's scan).
inline constexpr std::uint32_t tb_batches_in_flight_default = 1;
inline constexpr std::uint32_t tb_batches_in_flight_max = 16;
static_assert(tb_batches_in_flight_default >= 1 &&
              tb_batches_in_flight_default <= tb_batches_in_flight_max);
static_assert(tb_batches_in_flight_max <= tb_packets_in_flight_max / 2,
              "transfer batches must leave request slots for the lookups");
// After an eviction the client is re-created after a delay that doubles with every eviction
// in a row (reset by a successful request): a cluster that keeps evicting us (release too high)
// costs one init per delay, not one per request. Each eviction also leaks the evicted client's
// IO thread inside libtb_client 0.17.8 (nothing joins it), another reason to back off.
inline constexpr std::uint32_t tb_client_reopen_delay_min_ms = 1'000;
inline constexpr std::uint32_t tb_client_reopen_delay_max_ms = 60'000;
// The cluster never times requests out (the client retries forever); these bound our waits.
inline constexpr std::uint32_t tb_start_timeout_ms = 15'000;
inline constexpr std::uint32_t tb_health_probe_timeout_ms = 1'000;
// A completed request this recent proves the cluster healthy without probing it.
inline constexpr std::uint32_t tb_health_fresh_ms = 1'000;
// While the goodies look gone a hold asks for none, except one hold per this interval, which
// learns whether expired holds gave some back: a goodie that came back waits at most this long
// for a hold to ask for it (accounting/tigerbeetle/goodie_outlook.hpp).
inline constexpr std::uint32_t tb_goodie_retry_interval_ms = 1'000;
// The library's log lines are at most 8 KiB; ours are cut shorter.
inline constexpr std::size_t tb_log_message_bytes_max = 1'024;

// PostgreSQL group commit: rows per transaction and ids per status read.
inline constexpr std::size_t pg_order_batch_rows_max = 2'000;
inline constexpr std::size_t pg_read_batch_ids_max = 2'000;
inline constexpr std::size_t pg_accounting_batch_ops_max = 2'000;
inline constexpr std::size_t pg_session_batch_ops_max = 2'000;
inline constexpr std::uint32_t pg_statement_timeout_ms = 10'000;
// Expired session and gate rows deleted per batch and table: the clean-up rides along with the
// traffic, at a bounded cost per transaction.
inline constexpr std::int64_t pg_session_cleanup_rows_max = 100;
inline constexpr std::uint32_t pg_reconnect_delay_ms = 500;
// Order insert connections (PG_ORDER_CONNECTIONS), each with one batch in flight: the default
// keeps one batch committing while the next is written; the ceiling keeps a server's share of
// PostgreSQL's connections small.
inline constexpr std::size_t pg_order_connections_default = 2;
inline constexpr std::size_t pg_order_connections_max = 8;
static_assert(pg_order_connections_default >= 1 &&
              pg_order_connections_default <= pg_order_connections_max);
// A queue holds at least one full batch of every store (AutoBatcher checks the same at run time).
static_assert(batcher_queue_items_max >= tb_batch_events_max &&
              batcher_queue_items_max >= pg_order_batch_rows_max &&
              batcher_queue_items_max >= pg_read_batch_ids_max &&
              batcher_queue_items_max >= pg_accounting_batch_ops_max &&
              batcher_queue_items_max >= pg_session_batch_ops_max);

// Admin and listings.
inline constexpr std::size_t admin_orders_default = 200;
inline constexpr std::size_t admin_orders_max = 500;
inline constexpr std::size_t pending_sessions_default = 100;
inline constexpr std::size_t pending_sessions_max = 500;
static_assert(admin_orders_default <= admin_orders_max);
static_assert(pending_sessions_default <= pending_sessions_max);

// Session store: a session outlives its reservation by this margin, so a webhook arriving
// right at expiry still finds it and can try a late booking. The holds' timeout is the
// reservation TTL and the session's TTL that plus this margin, so the margin must be positive
// for the session to outlive its holds (checkout asserts the sum, which depends on the
// configuration); MockPay asserts that its quick retries of one payment fit in it.
inline constexpr std::uint32_t session_ttl_margin_s = 60;
static_assert(session_ttl_margin_s > 0, "a session must outlive its holds");
// A checkout starts its email slot's time (and, when it writes the session while the ledger
// holds, the session's) before the hold's, which starts when the ledger applies it. Holds
// answered later than this after the checkout began (a stalled ledger) would leave the slot and
// the session too little of the margin, or outlive them: the checkout gives everything back
// and answers 503, and the fan tries again.
inline constexpr std::uint32_t hold_answer_late_s = 20;

// A checkout's undo of a store call whose answer was lost (the call may have landed) is tried
// again in the background after these pauses, doubling from the least to the most, until the
// store takes it, or the claim ends by its own time, or for at most undo_retry_for_ms: a store
// away for longer leaves the claim to its time, and the retries of calls that were never sent
// (refused while the client reconnected) end. The first pause outlasts the Redis client's
// first reconnect delay; the most bounds how long a shutdown waits for the retry to notice it.
inline constexpr std::uint32_t undo_retry_pause_min_ms = 100;
inline constexpr std::uint32_t undo_retry_pause_max_ms = 1'000;
inline constexpr std::uint32_t undo_retry_for_ms = 60'000;
static_assert(undo_retry_pause_min_ms <= undo_retry_pause_max_ms &&
              undo_retry_pause_max_ms < shutdown_drain_timeout_ms);
static_assert(hold_answer_late_s * 2 <= session_ttl_margin_s,
              "a late hold leaves its session at least half the margin");
// The webhook gate: a delivery's lease outlasts normal processing (a few store round trips), so
// a second delivery meets `busy` instead of doing the work again; a lease whose holder died
// frees itself after this long. A holder that merely stalls past it is harmless: every step is
// idempotent by id and an order only moves from unpaid to paid. The done mark, and a session
// whose lease was taken, outlive every retry schedule of the provider.
inline constexpr std::uint32_t webhook_lease_ms = 3'000;
inline constexpr std::uint32_t webhook_done_ttl_s = 24 * 3600;
// Taking a lease keeps the session for the done mark's lifetime, so the session and the mark
// outlive the lease of a delivery that dies holding it: its successor finds both. (MockPay
// asserts that the mark also outlives its outbox's whole redelivery schedule.)
static_assert(webhook_lease_ms < webhook_done_ttl_s * 1000ull,
              "a done mark must outlive any lease");
// The longest a checkout may hold its tickets (RESERVATION_TTL_SECONDS). A checkout's holds and
// session end before the done mark of its order's first settlement, even a hold the checkout
// made after an operator settled it from the pending list (docs/ARCHITECTURE.md, Checkout,
// step 3): a later delivery meets the mark as a replay, and never posts a hold of an order that
// was booked late.
inline constexpr std::uint32_t reservation_ttl_max_s = 23 * 3600;
static_assert(reservation_ttl_max_s + session_ttl_margin_s < webhook_done_ttl_s,
              "a done mark must outlive the holds and the session of its order");

// Checkout idempotency keys (flows/idempotent_checkout.hpp): a claim outlasts a slow checkout
// (an email slot claim, the hold beside the session's save, the goodie's correction, each a store
// batch of at most one statement timeout), so a concurrent retry meets `busy` instead of holding
// twice; a claim whose holder died expires after it and the retry then runs a checkout of its
// own (the first hold, never handed to the client, times out by itself). A checkout that
// failed undoes its calls before answering; should that outlast the claim, the retry's
// checkout holds beside holds that are being voided. The answer is kept a day.
inline constexpr std::uint32_t checkout_key_lease_ms = 60'000;
static_assert(checkout_key_lease_ms >= 3 * pg_statement_timeout_ms,
              "a claim must outlive the checkout's three store batches");
inline constexpr std::uint32_t checkout_key_done_ttl_s = 24 * 3600;
inline constexpr std::size_t checkout_key_bytes_max = 255;
static_assert(checkout_key_lease_ms < checkout_key_done_ttl_s * 1000ull,
              "an answer must outlive the claim");

// Tickets per email address (TICKETS_PER_EMAIL), paid or held, across all sessions: the default
// and the ceiling; 0 turns the limit off. A held ticket counts while a payment can still turn
// it into a sold one: for the reservation TTL plus session_ttl_margin_s (a payment in the
// margin books late). A paid one counts for good; a failed or canceled one stops counting.
inline constexpr std::uint32_t tickets_per_email_default = 4;
inline constexpr std::uint32_t tickets_per_email_max = 1'000;
static_assert(tickets_per_email_default <= tickets_per_email_max);

// Background tasks (core/background_tasks.hpp): MockPay deletes a delivered event from its
// outbox after its emit answered. A pending task holds a coroutine frame and a store call; with
// this many pending (an outbox that stalls under a flood of payments) the next task runs before
// its answer instead, as if there were no background, so memory stays bounded. Far above what
// normal traffic keeps pending: payments per second times one store round trip.
inline constexpr std::size_t background_tasks_max = 4'096;

// Reconciliation: a ticket posted less than this long ago may still have its order on the way
// (a webhook between its ledger post and its group commit), so the reconciler leaves it to the
// next pass. A webhook slower than that (its insert retried through a database outage) finds
// the order the reconciler wrote, answers with it and fills in the email; nothing is stored
// twice either way.
inline constexpr std::uint32_t reconcile_grace_s = 60;
static_assert(webhook_lease_ms < reconcile_grace_s * 1000ull,
              "the reconciler must not race a delivery that still holds its lease");
// The order insert of a delivery is one group commit, which ends (commits or fails) within
// the statement timeout: a delivery whose commit is merely slow is done within the grace.
static_assert(pg_statement_timeout_ms < reconcile_grace_s * 1000ull,
              "the reconciler must not race a group commit that is still running");
// Orders read per query while the reconciler pages through them.
inline constexpr std::size_t reconcile_orders_page = 2'000;

// Admin login sessions.
inline constexpr std::uint32_t admin_session_ttl_s = 12 * 3600;
// Admin login throttling: wrong passwords allowed before blocks start, the longest block, and
// how many addresses and user names are tracked at once (memory stays bounded).
inline constexpr int admin_login_free_failures = 5;
inline constexpr std::int64_t admin_login_block_max_s = 15 * 60;
inline constexpr std::size_t admin_login_tracked_keys_max = 100'000;
// Addresses the right password came from pass the user name's block for this long after
// their latest success, well past an admin session's end (a login's cookie never refreshes
// it), and this many at most, the oldest forgotten first.
inline constexpr std::int64_t admin_login_trust_s = 30 * 24 * 3600;
inline constexpr std::size_t admin_login_trusted_addresses_max = 16;
// User names longer than this are counted together, under one key: the table's keys stay small.
inline constexpr std::size_t admin_login_username_key_bytes_max = 256;

// Per-address rate limits (RATE_LIMIT_*): the largest settings, and how many addresses are
// tracked at once (memory stays bounded).
inline constexpr std::uint32_t rate_limit_per_second_max = 1'000'000;
inline constexpr std::uint32_t rate_limit_burst_max = 1'000'000;
inline constexpr std::size_t rate_limit_tracked_addresses_max = 100'000;

// The waiting room: how often the admission step runs, the most entries one step takes off the
// queue (admissions due beyond it wait for the next steps, up to the pacer's catch-up; at 20
// steps a second this bounds the rate at admit_per_second_max), and how long an
// admitted entry is kept beyond its token's expiry (so that its fan's status still shows it).
inline constexpr std::uint32_t admission_step_ms = 50;
inline constexpr std::uint64_t admission_step_entries_max = 5'000;
inline constexpr std::uint32_t admitted_entry_margin_s = 3600;
// The most admissions a second (ADMIT_PER_SECOND, the admin's rate): what the steps take at most.
inline constexpr std::uint32_t admit_per_second_max = 100'000;
static_assert(admission_step_entries_max * (1000 / admission_step_ms) >= admit_per_second_max,
              "the steps of a second can admit the most a second allows");
// How long one process's hold on admission lasts unless renewed (each step renews it): when the
// holder dies or stalls, another process admits after at most this long.
inline constexpr std::int64_t admission_lease_us = 2'000'000;

// The admin's live view: one sample a second, the last five minutes kept in memory; the ledger's
// figures (active holds, stock left) read in the background, shown as unknown when the last
// good read is older than this (a ledger that is down or slow to answer).
inline constexpr std::uint32_t live_sample_interval_ms = 1'000;
inline constexpr std::size_t live_samples_max = 300;
inline constexpr std::uint32_t live_ledger_stale_ms = 3'000;
static_assert(live_ledger_stale_ms > live_sample_interval_ms,
              "a ledger read each interval must keep its figures shown");

// Reserved seating (seating/): the largest venue a file may describe, the most seats one
// order may hold (a chain of linked transfers, one request), the venue file's size, and how old
// the seat map's snapshot may grow before a reader starts a refresh from the ledger, and how
// long after its last reader the map goes on refreshing itself.
inline constexpr std::uint32_t venue_seats_max = 100'000;
inline constexpr std::uint32_t venue_sections_max = 1'000;
inline constexpr std::uint32_t venue_row_seats_max = 1'000;
inline constexpr std::uint32_t venue_categories_max = 16;
inline constexpr std::uintmax_t venue_file_bytes_max = 8 * 1024 * 1024;
inline constexpr std::uint32_t seats_per_order_max = 8;
inline constexpr std::uint32_t seat_map_refresh_ms = 5;
inline constexpr std::uint32_t seat_map_keep_warm_ms = 10'000;

// The recorded benchmark results the /bench page reads.
inline constexpr std::uintmax_t bench_results_bytes_max = 32 * 1024 * 1024;

}  // namespace tigerfans::limits

// SQL of the PostgreSQL payment-session store (see session_tables.hpp). Time is the database's
// now(), so every server process agrees on what has expired.
//
// The webhook gate is a row per session in webhook_leases. Taking the lease is one upsert that
// succeeds only when no row is live; two concurrent takers of one psid meet at the primary key,
// the second waits for the first's transaction and then finds a live row, so of many identical
// concurrent calls, in one process or several, exactly one gets the lease. A taker that got no
// row reads the live one in a new statement (which sees the winner's commit) to tell "busy"
// from "done". Checkout's idempotency keys work the same way in checkout_keys.
//
// The ticket slots of an email are rows of email_slots. A batch locks each email it touches
// (the same advisory locks as the psids) before counting, so a claim counts what every earlier
// claim of that email committed: of concurrent claims, in one process or several, at most the
// limit get a slot. A process that dies between a claim and its ledger hold leaves a slot that
// stops counting at its counts_until.
#include "sessions/postgres/session_tables.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

#include "postgres/row_values.hpp"
#include "postgres/schema.hpp"
#include "postgres/sql_array.hpp"
#include "postgres/statement.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/seating/seat_list.hpp"

namespace tigerfans::sessions::postgres {

namespace {

using tigerfans::postgres::ArrayLiteral;
using tigerfans::postgres::decimal_u128;
using tigerfans::postgres::required;
using tigerfans::postgres::SchemaStep;
using tigerfans::postgres::Statement;

constexpr std::string_view create_sessions_sql = R"(
CREATE TABLE IF NOT EXISTS payment_sessions (
    psid text PRIMARY KEY,
    order_id text NOT NULL,
    cls text NOT NULL,
    customer_email text NOT NULL,
    ticket_hold_id text NOT NULL,
    goodie_hold_id text NOT NULL,
    goodie_held boolean NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    listed boolean NOT NULL DEFAULT true,
    seats text NOT NULL DEFAULT '',
    seat_holds text NOT NULL DEFAULT ''
))";

// Tables made before sessions could be taken off the pending list keep working.
constexpr std::string_view add_listed_column_sql =
    "ALTER TABLE payment_sessions ADD COLUMN IF NOT EXISTS listed boolean NOT NULL DEFAULT true";

// Tables made before reserved seating: a seat order's seats and holds, as seating/seat_list.hpp
// writes them; '' for a class.
constexpr std::string_view add_seats_column_sql =
    "ALTER TABLE payment_sessions ADD COLUMN IF NOT EXISTS seats text NOT NULL DEFAULT ''";
constexpr std::string_view add_seat_holds_column_sql =
    "ALTER TABLE payment_sessions ADD COLUMN IF NOT EXISTS seat_holds text NOT NULL DEFAULT ''";

constexpr std::string_view create_sessions_created_index_sql =
    "CREATE INDEX IF NOT EXISTS payment_sessions_created_at ON payment_sessions (created_at)";
constexpr std::string_view create_sessions_expiry_index_sql =
    "CREATE INDEX IF NOT EXISTS payment_sessions_expires_at ON payment_sessions (expires_at)";

constexpr std::string_view create_leases_sql = R"(
CREATE TABLE IF NOT EXISTS webhook_leases (
    psid text PRIMARY KEY,
    token text,
    order_status text,
    expires_at timestamptz NOT NULL,
    CHECK ((token IS NULL) <> (order_status IS NULL))
))";

constexpr std::string_view create_leases_expiry_index_sql =
    "CREATE INDEX IF NOT EXISTS webhook_leases_expires_at ON webhook_leases (expires_at)";

constexpr std::string_view create_keys_sql = R"(
CREATE TABLE IF NOT EXISTS checkout_keys (
    key_id text PRIMARY KEY,
    fingerprint text NOT NULL,
    token text,
    status integer,
    body text,
    expires_at timestamptz NOT NULL,
    CHECK ((token IS NULL) <> (status IS NULL))
))";

constexpr std::string_view create_keys_expiry_index_sql =
    "CREATE INDEX IF NOT EXISTS checkout_keys_expires_at ON checkout_keys (expires_at)";
constexpr std::string_view create_email_slots_sql = R"(
CREATE TABLE IF NOT EXISTS email_slots (
    email text NOT NULL,
    order_id text NOT NULL,
    counts_until timestamptz NOT NULL,
    PRIMARY KEY (email, order_id)
))";

constexpr std::string_view create_email_slots_expiry_index_sql =
    "CREATE INDEX IF NOT EXISTS email_slots_counts_until ON email_slots (counts_until)";

// Adds the order's slot while fewer than the limit of the email's slots still count (or the
// slot is already the order's); no row back when the limit is reached.
constexpr Statement claim_slot_statement{"sessions_claim_slot", R"(
INSERT INTO email_slots (email, order_id, counts_until)
SELECT $1, $2, clock_timestamp() + $3::bigint * interval '1 millisecond'
WHERE (SELECT count(*) FROM email_slots
       WHERE email = $1 AND counts_until > clock_timestamp()) < $4::bigint
   OR EXISTS (SELECT 1 FROM email_slots
              WHERE email = $1 AND order_id = $2 AND counts_until > clock_timestamp())
ON CONFLICT (email, order_id) DO UPDATE SET
    counts_until = greatest(email_slots.counts_until, EXCLUDED.counts_until)
RETURNING 1)"};

constexpr Statement paid_slot_statement{"sessions_paid_slot", R"(
INSERT INTO email_slots (email, order_id, counts_until) VALUES ($1, $2, 'infinity')
ON CONFLICT (email, order_id) DO UPDATE SET counts_until = 'infinity')"};

// A paid slot is never freed: it counts for good.
constexpr Statement free_slot_statement{"sessions_free_slot", R"(
DELETE FROM email_slots WHERE email = $1 AND order_id = $2 AND counts_until <> 'infinity')"};

constexpr Statement save_statement{"sessions_save", R"(
INSERT INTO payment_sessions (psid, order_id, cls, customer_email, ticket_hold_id,
                              goodie_hold_id, goodie_held, amount, currency, created_at,
                              expires_at, seats, seat_holds)
SELECT psid, order_id, cls, customer_email, ticket_hold_id, goodie_hold_id, goodie_held,
       amount, currency, created_at, now() + ttl_s * interval '1 second', seats, seat_holds
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::boolean[], $8::bigint[], $9::text[], $10::timestamptz[], $11::bigint[],
            $12::text[], $13::text[])
    AS saved (psid, order_id, cls, customer_email, ticket_hold_id, goodie_hold_id, goodie_held,
              amount, currency, created_at, ttl_s, seats, seat_holds)
ON CONFLICT (psid) DO UPDATE SET
    order_id = EXCLUDED.order_id, cls = EXCLUDED.cls, customer_email = EXCLUDED.customer_email,
    ticket_hold_id = EXCLUDED.ticket_hold_id, goodie_hold_id = EXCLUDED.goodie_hold_id,
    goodie_held = EXCLUDED.goodie_held, amount = EXCLUDED.amount, currency = EXCLUDED.currency,
    created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, listed = true,
    seats = EXCLUDED.seats, seat_holds = EXCLUDED.seat_holds)"};

// A session that expired or was removed stays as it is.
constexpr Statement correct_goodies_statement{"sessions_correct_goodies", R"(
UPDATE payment_sessions AS kept SET goodie_held = corrected.goodie_held
FROM unnest($1::text[], $2::boolean[]) AS corrected (psid, goodie_held)
WHERE kept.psid = corrected.psid AND kept.expires_at > now())"};

constexpr Statement remove_statement{"sessions_remove",
                                     "DELETE FROM payment_sessions WHERE psid = ANY($1::text[])"};

constexpr Statement unlist_statement{
    "sessions_unlist", "UPDATE payment_sessions SET listed = false WHERE psid = ANY($1::text[])"};

// Leases count from the statement's clock, not the transaction's start: a batch that waited
// for locks must not hand out a lease that is already half over.
constexpr Statement take_lease_statement{"sessions_take_lease", R"(
INSERT INTO webhook_leases (psid, token, order_status, expires_at)
VALUES ($1, $2, NULL, clock_timestamp() + $3::bigint * interval '1 millisecond')
ON CONFLICT (psid) DO UPDATE SET
    token = EXCLUDED.token, order_status = NULL, expires_at = EXCLUDED.expires_at
    WHERE webhook_leases.expires_at <= clock_timestamp()
        OR ($4::boolean AND webhook_leases.order_status IN ('FAILED', 'CANCELED'))
RETURNING psid)"};

constexpr Statement live_gate_statement{"sessions_live_gate", R"(
SELECT order_status FROM webhook_leases WHERE psid = $1 AND expires_at > clock_timestamp())"};

// A key is claimed like a lease is taken: one upsert that succeeds only when no row is live.
constexpr Statement claim_key_statement{"sessions_claim_key", R"(
INSERT INTO checkout_keys (key_id, fingerprint, token, status, body, expires_at)
VALUES ($1, $2, $3, NULL, NULL, clock_timestamp() + $4::bigint * interval '1 millisecond')
ON CONFLICT (key_id) DO UPDATE SET
    fingerprint = EXCLUDED.fingerprint, token = EXCLUDED.token, status = NULL, body = NULL,
    expires_at = EXCLUDED.expires_at
    WHERE checkout_keys.expires_at <= clock_timestamp()
RETURNING key_id)"};

constexpr Statement live_key_statement{"sessions_live_key", R"(
SELECT fingerprint, status, body FROM checkout_keys
WHERE key_id = $1 AND expires_at > clock_timestamp())"};

// Only the claim's holder answers or releases it.
constexpr Statement finish_keys_statement{"sessions_finish_keys", R"(
UPDATE checkout_keys AS held
SET token = NULL, status = finished.status, body = finished.body,
    expires_at = now() + finished.ttl_s * interval '1 second'
FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::bigint[])
    AS finished (key_id, token, status, body, ttl_s)
WHERE held.key_id = finished.key_id AND held.token = finished.token)"};

constexpr Statement release_keys_statement{"sessions_release_keys", R"(
DELETE FROM checkout_keys AS held
USING unnest($1::text[], $2::text[]) AS released (key_id, token)
WHERE held.key_id = released.key_id AND held.token = released.token)"};

// A session whose lease was taken is kept for the done mark's lifetime at least.
constexpr Statement keep_session_statement{"sessions_keep", R"(
UPDATE payment_sessions
SET expires_at = greatest(expires_at, now() + $2::bigint * interval '1 second')
WHERE psid = $1 AND expires_at > now())"};

// A paid mark never becomes unpaid.
constexpr Statement finish_statement{"sessions_finish_gates", R"(
INSERT INTO webhook_leases (psid, token, order_status, expires_at)
SELECT psid, NULL, order_status, now() + $3::bigint * interval '1 second'
FROM unnest($1::text[], $2::text[]) AS finished (psid, order_status)
ON CONFLICT (psid) DO UPDATE SET
    token = NULL, order_status = EXCLUDED.order_status, expires_at = EXCLUDED.expires_at
    WHERE webhook_leases.order_status IS NULL
        OR webhook_leases.order_status IN ('FAILED', 'CANCELED')
        OR EXCLUDED.order_status IN ('PAID', 'PAID_UNFULFILLED'))"};

// Every psid a batch writes, locked first in one global order (advisory locks, so rows that do
// not exist yet are covered too): two batches, in one process or several, that touch the same
// sessions in different orders wait for each other instead of deadlocking.
constexpr std::int32_t psid_lock_class = 0x7466;  // A key space of its own for these locks.
constexpr Statement lock_psids_statement{"sessions_lock_psids", R"(
SELECT count(pg_advisory_xact_lock($2::integer, key))
FROM (SELECT DISTINCT hashtext(psid) AS key FROM unnest($1::text[]) AS psid ORDER BY key)
    AS keys)"};

constexpr Statement release_statement{"sessions_release_leases", R"(
DELETE FROM webhook_leases AS held
USING unnest($1::text[], $2::text[]) AS released (psid, token)
WHERE held.psid = released.psid AND held.token = released.token)"};

constexpr std::string_view session_columns =
    "psid, order_id, cls, customer_email, ticket_hold_id, goodie_hold_id, goodie_held, amount, "
    "currency, (extract(epoch FROM created_at) * 1000000)::bigint, seats, seat_holds";

constexpr const char* find_statement = "sessions_find";
constexpr std::string_view find_where = "WHERE psid = ANY($1::text[]) AND expires_at > now()";

constexpr const char* recent_statement = "sessions_recent";
constexpr std::string_view recent_where =
    "WHERE expires_at > now() AND listed ORDER BY created_at DESC, psid DESC LIMIT $1";

constexpr Statement count_statement{
    "sessions_count", "SELECT count(*) FROM payment_sessions WHERE expires_at > now() AND listed"};

constexpr Statement cleanup_statement{"sessions_cleanup", R"(
WITH expired_sessions AS (
    DELETE FROM payment_sessions WHERE psid IN (
        SELECT psid FROM payment_sessions WHERE expires_at <= now()
        ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING 1),
expired_gates AS (
    DELETE FROM webhook_leases WHERE psid IN (
        SELECT psid FROM webhook_leases WHERE expires_at <= now()
        ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING 1),
expired_keys AS (
    DELETE FROM checkout_keys WHERE key_id IN (
        SELECT key_id FROM checkout_keys WHERE expires_at <= now()
        ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING 1),
expired_slots AS (
    DELETE FROM email_slots WHERE (email, order_id) IN (
        SELECT email, order_id FROM email_slots WHERE counts_until <= now()
        ORDER BY counts_until LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING 1)
SELECT (SELECT count(*) FROM expired_sessions), (SELECT count(*) FROM expired_gates),
       (SELECT count(*) FROM expired_keys), (SELECT count(*) FROM expired_slots))"};

std::string select_sessions(std::string_view tail) {
    return "SELECT " + std::string(session_columns) + " FROM payment_sessions " + std::string(tail);
}

// One array per column of the upsert, filled a session at a time.
struct SessionColumns {
    ArrayLiteral psid, order_id, cls, email, ticket_hold, goodie_hold, goodie_held, amount,
        currency, created_at, ttl_s, seats, seat_holds;

    void add(const PaymentSession& session, std::uint32_t ttl) {
        psid.add_text(session.psid);
        order_id.add_text(session.order_id);
        cls.add_text(class_name(session.cls));
        email.add_text(session.customer_email);
        ticket_hold.add_text(u128_to_decimal(session.ticket_hold_id));
        goodie_hold.add_text(u128_to_decimal(session.goodie_hold_id));
        goodie_held.add_bool(session.goodie_held);
        amount.add_int(session.amount_cents);
        currency.add_text(session.currency);
        created_at.add_text(iso8601_utc(session.created_at_us));
        ttl_s.add_int(ttl);
        seats.add_text(seating::seat_list_text(session.seats));
        seat_holds.add_text(seating::hold_list_text(session.seat_hold_ids));
    }
};

PaymentSession session_from_row(const pqxx::row& row) {
    PaymentSession session;
    session.psid = row[0].as<std::string>();
    session.order_id = row[1].as<std::string>();
    session.cls = required(parse_class(row[2].as<std::string>()), "class");
    session.customer_email = row[3].as<std::string>();
    session.ticket_hold_id = decimal_u128(row[4]);
    session.goodie_hold_id = decimal_u128(row[5]);
    session.goodie_held = row[6].as<bool>();
    session.amount_cents = row[7].as<std::int64_t>();
    session.currency = row[8].as<std::string>();
    session.created_at_us = row[9].as<std::int64_t>();
    session.seats = required(seating::parse_seat_list(row[10].as<std::string>()), "seats");
    session.seat_hold_ids =
        required(seating::parse_hold_list(row[11].as<std::string>()), "seat holds");
    if (session.seats.size() != session.seat_hold_ids.size()) {
        throw std::runtime_error("postgres: a session's seats and holds do not pair up");
    }
    return session;
}

// Saves of one psid in the same batch: the last one wins (an upsert may touch a row once).
void save_sessions(pqxx::work& txn, const std::vector<const SaveOp*>& saves) {
    std::unordered_map<std::string_view, const SaveOp*> last;
    for (const SaveOp* save : saves) last[save->session.psid] = save;
    SessionColumns columns;
    for (const SaveOp* save : saves) {
        if (last.at(save->session.psid) == save) columns.add(save->session, save->ttl_s);
    }
    txn.exec_prepared(save_statement.name, columns.psid.text(), columns.order_id.text(),
                      columns.cls.text(), columns.email.text(), columns.ticket_hold.text(),
                      columns.goodie_hold.text(), columns.goodie_held.text(), columns.amount.text(),
                      columns.currency.text(), columns.created_at.text(), columns.ttl_s.text(),
                      columns.seats.text(), columns.seat_holds.text());
}

// Two corrections of one psid in a batch are concurrent: the update takes either, as any order
// of them is valid (only the checkout that saved a session corrects it, once).
void correct_goodies(pqxx::work& txn, const std::vector<const GoodieOp*>& corrections) {
    ArrayLiteral psids;
    ArrayLiteral goodies_held;
    for (const GoodieOp* correction : corrections) {
        psids.add_text(correction->psid);
        goodies_held.add_bool(correction->goodie_held);
    }
    txn.exec_prepared(correct_goodies_statement.name, psids.text(), goodies_held.text());
}

GateAnswer take_lease(pqxx::work& txn, const LeaseOp& lease) {
    const pqxx::result taken =
        txn.exec_prepared(take_lease_statement.name, lease.psid, lease.token,
                          static_cast<std::int64_t>(lease.lease_ms), lease.payment);
    if (taken.size() == 1) {
        txn.exec_prepared(keep_session_statement.name, lease.psid,
                          static_cast<std::int64_t>(limits::webhook_done_ttl_s));
        return {GateState::leased, {}};
    }
    const pqxx::result live = txn.exec_prepared(live_gate_statement.name, lease.psid);
    // No live row: the holder released it in between. Busy sends the provider back shortly.
    if (live.empty() || live[0][0].is_null()) return {GateState::busy, {}};
    return {GateState::done, live[0][0].as<std::string>()};
}

KeyAnswer claim_key(pqxx::work& txn, const ClaimKeyOp& op) {
    const KeyClaim& claim = op.claim;
    const pqxx::result claimed =
        txn.exec_prepared(claim_key_statement.name, claim.key_id, claim.fingerprint, claim.token,
                          static_cast<std::int64_t>(op.lease_ms));
    KeyAnswer answer;
    answer.state = KeyState::claimed;
    if (claimed.size() == 1) return answer;
    answer.state = KeyState::busy;
    const pqxx::result live = txn.exec_prepared(live_key_statement.name, claim.key_id);
    // No live row: the holder released it in between; busy sends the client back shortly.
    if (live.empty()) return answer;
    answer.fingerprint = live[0][0].as<std::string>();
    if (live[0][1].is_null()) return answer;
    answer.state = KeyState::done;
    answer.status = live[0][1].as<unsigned>();
    answer.body = live[0][2].as<std::string>();
    return answer;
}

void finish_keys(pqxx::work& txn, const std::vector<const FinishKeyOp*>& finishes) {
    ArrayLiteral key_ids, tokens, statuses, bodies, ttls;
    for (const FinishKeyOp* finish : finishes) {
        key_ids.add_text(finish->claim.key_id);
        tokens.add_text(finish->claim.token);
        statuses.add_int(finish->status);
        bodies.add_text(finish->body);
        ttls.add_int(finish->ttl_s);
    }
    txn.exec_prepared(finish_keys_statement.name, key_ids.text(), tokens.text(), statuses.text(),
                      bodies.text(), ttls.text());
}

bool claim_slot(pqxx::work& txn, const ClaimSlotOp& claim) {
    const pqxx::result taken = txn.exec_prepared(
        claim_slot_statement.name, claim.email, claim.order_id,
        static_cast<std::int64_t>(claim.counts_ms), static_cast<std::int64_t>(claim.limit));
    return taken.size() == 1;
}

void settle_slot(pqxx::work& txn, const SlotOp& slot) {
    const char* statement = slot.paid ? paid_slot_statement.name : free_slot_statement.name;
    txn.exec_prepared(statement, slot.email, slot.order_id);
}

// An email's advisory lock key, kept apart from the psids (which never start with '@').
std::string email_lock_key(std::string_view email) { return "@" + std::string(email); }

// Finishes of one psid in the same batch: a paid mark wins over an unpaid one, else the last
// (an upsert may touch a row once).
void finish_gates(pqxx::work& txn, const std::vector<const FinishOp*>& finishes) {
    std::unordered_map<std::string_view, const FinishOp*> last;
    for (const FinishOp* finish : finishes) {
        const auto [kept, added] = last.try_emplace(finish->psid, finish);
        if (!added && !(is_unpaid_mark(finish->order_status) &&
                        !is_unpaid_mark(kept->second->order_status))) {
            kept->second = finish;
        }
    }
    ArrayLiteral psids;
    ArrayLiteral statuses;
    for (const FinishOp* finish : finishes) {
        if (last.at(finish->psid) != finish) continue;
        psids.add_text(finish->psid);
        statuses.add_text(finish->order_status);
    }
    txn.exec_prepared(finish_statement.name, psids.text(), statuses.text(),
                      static_cast<std::int64_t>(limits::webhook_done_ttl_s));
}

std::unordered_map<std::string, PaymentSession> find_sessions(
    pqxx::work& txn, const std::vector<const FindOp*>& finds) {
    ArrayLiteral wanted;
    for (const FindOp* find : finds) wanted.add_text(find->psid);
    std::unordered_map<std::string, PaymentSession> found;
    for (const pqxx::row& row : txn.exec_prepared(find_statement, wanted.text())) {
        PaymentSession session = session_from_row(row);
        found.emplace(session.psid, std::move(session));
    }
    return found;
}

// The operations of a batch sorted by kind, each with its index in the batch.
struct BatchByKind {
    std::vector<const SaveOp*> saves;
    std::vector<const GoodieOp*> goodies;
    std::vector<const FindOp*> finds;
    std::vector<std::pair<std::size_t, const LeaseOp*>> leases;
    std::vector<std::pair<std::size_t, const ClaimSlotOp*>> slot_claims;
    std::vector<const SlotOp*> settled_slots;
    std::vector<const FinishOp*> finishes;
    std::vector<std::pair<std::size_t, const ClaimKeyOp*>> key_claims;
    std::vector<const FinishKeyOp*> key_finishes;
    ArrayLiteral released_keys;
    ArrayLiteral released_key_tokens;
    ArrayLiteral removed_psids;
    ArrayLiteral unlisted_psids;
    ArrayLiteral released_psids;
    ArrayLiteral released_tokens;
    ArrayLiteral written_psids;  // Every psid a write of this batch touches, and every email.
    std::vector<std::size_t> find_indexes;

    explicit BatchByKind(const std::vector<Operation>& operations);

private:
    void note_write(const FindOp&) {}
    void note_write(const SaveOp& save) { written_psids.add_text(save.session.psid); }
    void note_write(const ClaimKeyOp& op) { written_psids.add_text(op.claim.key_id); }
    void note_write(const FinishKeyOp& op) { written_psids.add_text(op.claim.key_id); }
    void note_write(const ReleaseKeyOp& op) { written_psids.add_text(op.claim.key_id); }
    void sort_key_op(std::size_t index, const Operation& operation);
    void note_write(const ClaimSlotOp& claim) {
        written_psids.add_text(email_lock_key(claim.email));
    }
    void note_write(const SlotOp& slot) { written_psids.add_text(email_lock_key(slot.email)); }
    template <typename Write>
    void note_write(const Write& write) {
        written_psids.add_text(write.psid);
    }
};

BatchByKind::BatchByKind(const std::vector<Operation>& operations) {
    for (std::size_t i = 0; i < operations.size(); i++) {
        const Operation& operation = operations[i];
        if (const auto* save = std::get_if<SaveOp>(&operation)) saves.push_back(save);
        if (const auto* goodie = std::get_if<GoodieOp>(&operation)) goodies.push_back(goodie);
        if (const auto* lease = std::get_if<LeaseOp>(&operation)) leases.emplace_back(i, lease);
        if (const auto* finish = std::get_if<FinishOp>(&operation)) {
            finishes.push_back(finish);
            const bool keep = is_unpaid_mark(finish->order_status);
            (keep ? unlisted_psids : removed_psids).add_text(finish->psid);
        }
        if (const auto* claim = std::get_if<ClaimSlotOp>(&operation))
            slot_claims.emplace_back(i, claim);
        if (const auto* slot = std::get_if<SlotOp>(&operation)) settled_slots.push_back(slot);
        if (const auto* remove = std::get_if<RemoveOp>(&operation)) {
            removed_psids.add_text(remove->psid);
        }
        if (const auto* release = std::get_if<ReleaseOp>(&operation)) {
            released_psids.add_text(release->psid);
            released_tokens.add_text(release->token);
        }
        if (const auto* find = std::get_if<FindOp>(&operation)) {
            finds.push_back(find);
            find_indexes.push_back(i);
        }
        sort_key_op(i, operation);
        std::visit([this](const auto& op) { note_write(op); }, operation);
    }
    // Leases and claims in key order, so their answers do not depend on the order of arrival.
    std::stable_sort(leases.begin(), leases.end(),
                     [](const auto& a, const auto& b) { return a.second->psid < b.second->psid; });
    std::stable_sort(key_claims.begin(), key_claims.end(), [](const auto& a, const auto& b) {
        return a.second->claim.key_id < b.second->claim.key_id;
    });
    std::stable_sort(slot_claims.begin(), slot_claims.end(), [](const auto& a, const auto& b) {
        return a.second->email < b.second->email;
    });
}

void BatchByKind::sort_key_op(std::size_t index, const Operation& operation) {
    if (const auto* claim = std::get_if<ClaimKeyOp>(&operation))
        key_claims.emplace_back(index, claim);
    if (const auto* finish = std::get_if<FinishKeyOp>(&operation)) key_finishes.push_back(finish);
    if (const auto* release = std::get_if<ReleaseKeyOp>(&operation)) {
        released_keys.add_text(release->claim.key_id);
        released_key_tokens.add_text(release->claim.token);
    }
}

void write_sessions(pqxx::work& txn, const BatchByKind& batch) {
    if (!batch.saves.empty()) save_sessions(txn, batch.saves);
    if (batch.removed_psids.size() > 0) {
        txn.exec_prepared(remove_statement.name, batch.removed_psids.text());
    }
    if (batch.unlisted_psids.size() > 0) {
        txn.exec_prepared(unlist_statement.name, batch.unlisted_psids.text());
    }
    if (!batch.goodies.empty()) correct_goodies(txn, batch.goodies);
    if (!batch.finishes.empty()) finish_gates(txn, batch.finishes);
    if (batch.released_psids.size() > 0) {
        txn.exec_prepared(release_statement.name, batch.released_psids.text(),
                          batch.released_tokens.text());
    }
    if (!batch.key_finishes.empty()) finish_keys(txn, batch.key_finishes);
    if (batch.released_keys.size() > 0) {
        txn.exec_prepared(release_keys_statement.name, batch.released_keys.text(),
                          batch.released_key_tokens.text());
    }
    for (const SlotOp* slot : batch.settled_slots) settle_slot(txn, *slot);
}

void read_sessions(pqxx::work& txn, const BatchByKind& batch, std::vector<Outcome>& outcomes) {
    if (batch.finds.empty()) return;
    const auto found = find_sessions(txn, batch.finds);
    for (std::size_t i = 0; i < batch.finds.size(); i++) {
        const auto hit = found.find(batch.finds[i]->psid);
        outcomes[batch.find_indexes[i]] =
            hit == found.end() ? std::nullopt : std::optional(hit->second);
    }
}

}  // namespace

void prepare_session_statements(pqxx::connection& connection) {
    tigerfans::postgres::prepare_all(connection,
                                     {save_statement,
                                      correct_goodies_statement,
                                      remove_statement,
                                      unlist_statement,
                                      take_lease_statement,
                                      live_gate_statement,
                                      keep_session_statement,
                                      finish_statement,
                                      release_statement,
                                      claim_key_statement,
                                      live_key_statement,
                                      finish_keys_statement,
                                      release_keys_statement,
                                      claim_slot_statement,
                                      paid_slot_statement,
                                      free_slot_statement,
                                      lock_psids_statement,
                                      count_statement,
                                      cleanup_statement,
                                      {find_statement, select_sessions(find_where)},
                                      {recent_statement, select_sessions(recent_where)}});
}

void create_session_tables(pqxx::connection& connection) {
    pqxx::work txn(connection);
    tigerfans::postgres::apply_schema(
        txn, "sessions",
        {SchemaStep::always(create_sessions_sql),
         SchemaStep::column("payment_sessions", "listed", add_listed_column_sql),
         SchemaStep::column("payment_sessions", "seats", add_seats_column_sql),
         SchemaStep::column("payment_sessions", "seat_holds", add_seat_holds_column_sql),
         SchemaStep::index("payment_sessions", "payment_sessions_created_at",
                           create_sessions_created_index_sql),
         SchemaStep::index("payment_sessions", "payment_sessions_expires_at",
                           create_sessions_expiry_index_sql),
         SchemaStep::always(create_leases_sql),
         SchemaStep::index("webhook_leases", "webhook_leases_expires_at",
                           create_leases_expiry_index_sql),
         SchemaStep::always(create_keys_sql),
         SchemaStep::index("checkout_keys", "checkout_keys_expires_at",
                           create_keys_expiry_index_sql),
         SchemaStep::always(create_email_slots_sql),
         SchemaStep::index("email_slots", "email_slots_counts_until",
                           create_email_slots_expiry_index_sql)});
    txn.commit();
}

std::vector<Outcome> run_session_batch(pqxx::connection& connection,
                                       const std::vector<Operation>& operations) {
    TF_ASSERT(!operations.empty());
    const BatchByKind batch(operations);
    std::vector<Outcome> outcomes(operations.size(), Done{});
    pqxx::work txn(connection);
    if (batch.written_psids.size() > 0) {
        txn.exec_prepared(lock_psids_statement.name, batch.written_psids.text(), psid_lock_class);
    }
    write_sessions(txn, batch);
    for (const auto& [index, lease] : batch.leases) outcomes[index] = take_lease(txn, *lease);
    for (const auto& [index, claim] : batch.key_claims) outcomes[index] = claim_key(txn, *claim);
    for (const auto& [index, claim] : batch.slot_claims) outcomes[index] = claim_slot(txn, *claim);
    read_sessions(txn, batch, outcomes);
    txn.exec_prepared(cleanup_statement.name, limits::pg_session_cleanup_rows_max);
    txn.commit();
    return outcomes;
}

PendingList recent_sessions(pqxx::connection& connection, std::size_t limit) {
    pqxx::read_transaction txn(connection);
    PendingList list;
    list.total = txn.exec_prepared1(count_statement.name)[0].as<std::uint64_t>();
    for (const pqxx::row& row :
         txn.exec_prepared(recent_statement, static_cast<std::int64_t>(limit))) {
        list.sessions.push_back(session_from_row(row));
    }
    return list;
}

}  // namespace tigerfans::sessions::postgres

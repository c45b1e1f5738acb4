// SQL of the PostgreSQL payment-session store (see session_tables.hpp). Time is the database's
// now(), so every server process agrees on what has expired.
//
// The gate is one statement: it inserts both keys only when neither is live; a key that another
// transaction is inserting at the same moment makes it wait for that transaction (unique index)
// and then skip the key, so of many identical concurrent calls, in one process or several,
// exactly one sees both keys inserted and passes. A call that got only one key in removes it
// again in the same transaction: `first` sets both keys, a replay sets none, as in Redis.
#include "sessions/postgres/session_tables.hpp"

#include <algorithm>
#include <cassert>
#include <numeric>
#include <unordered_map>

#include "postgres/row_values.hpp"
#include "postgres/schema.hpp"
#include "postgres/sql_array.hpp"
#include "postgres/statement.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::sessions::postgres {

namespace {

using tigerfans::postgres::ArrayLiteral;
using tigerfans::postgres::Statement;
using tigerfans::postgres::decimal_u128;
using tigerfans::postgres::required;

// Expired rows deleted per batch and table: the clean-up rides along with the traffic, at a
// bounded cost per transaction.
constexpr std::int64_t cleanup_rows_per_batch_max = 100;

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
    expires_at timestamptz NOT NULL
))";

constexpr std::string_view create_sessions_created_index_sql =
    "CREATE INDEX IF NOT EXISTS payment_sessions_created_at ON payment_sessions (created_at)";
constexpr std::string_view create_sessions_expiry_index_sql =
    "CREATE INDEX IF NOT EXISTS payment_sessions_expires_at ON payment_sessions (expires_at)";

constexpr std::string_view create_gates_sql = R"(
CREATE TABLE IF NOT EXISTS webhook_gates (
    key text PRIMARY KEY,
    expires_at timestamptz NOT NULL
))";

constexpr std::string_view create_gates_expiry_index_sql =
    "CREATE INDEX IF NOT EXISTS webhook_gates_expires_at ON webhook_gates (expires_at)";

constexpr Statement save_statement{"sessions_save", R"(
INSERT INTO payment_sessions (psid, order_id, cls, customer_email, ticket_hold_id,
                              goodie_hold_id, goodie_held, amount, currency, created_at,
                              expires_at)
SELECT psid, order_id, cls, customer_email, ticket_hold_id, goodie_hold_id, goodie_held,
       amount, currency, created_at, now() + ttl_s * interval '1 second'
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::boolean[], $8::bigint[], $9::text[], $10::timestamptz[], $11::bigint[])
    AS saved (psid, order_id, cls, customer_email, ticket_hold_id, goodie_hold_id, goodie_held,
              amount, currency, created_at, ttl_s)
ON CONFLICT (psid) DO UPDATE SET
    order_id = EXCLUDED.order_id, cls = EXCLUDED.cls, customer_email = EXCLUDED.customer_email,
    ticket_hold_id = EXCLUDED.ticket_hold_id, goodie_hold_id = EXCLUDED.goodie_hold_id,
    goodie_held = EXCLUDED.goodie_held, amount = EXCLUDED.amount, currency = EXCLUDED.currency,
    created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at)"};

constexpr Statement remove_statement{
    "sessions_remove", "DELETE FROM payment_sessions WHERE psid = ANY($1::text[])"};

constexpr Statement reopen_statement{
    "sessions_reopen_gates", "DELETE FROM webhook_gates WHERE key = ANY($1::text[])"};

constexpr Statement gate_statement{"sessions_gate", R"(
INSERT INTO webhook_gates (key, expires_at)
SELECT wanted.key, now() + wanted.ttl_s * interval '1 second'
FROM (VALUES ($1::text, $3::bigint), ($2::text, $4::bigint)) AS wanted (key, ttl_s)
WHERE NOT EXISTS (SELECT 1 FROM webhook_gates AS live
                  WHERE live.key IN ($1, $2) AND live.expires_at > now())
ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
    WHERE webhook_gates.expires_at <= now()
RETURNING key)"};

constexpr Statement gate_undo_statement{
    "sessions_gate_undo", "DELETE FROM webhook_gates WHERE key = $1"};

constexpr std::string_view session_columns =
    "psid, order_id, cls, customer_email, ticket_hold_id, goodie_hold_id, goodie_held, amount, "
    "currency, (extract(epoch FROM created_at) * 1000000)::bigint";

constexpr const char* find_statement = "sessions_find";
constexpr std::string_view find_where =
    "WHERE psid = ANY($1::text[]) AND expires_at > now()";

constexpr const char* recent_statement = "sessions_recent";
constexpr std::string_view recent_where =
    "WHERE expires_at > now() ORDER BY created_at DESC, psid DESC LIMIT $1";

constexpr Statement count_statement{
    "sessions_count", "SELECT count(*) FROM payment_sessions WHERE expires_at > now()"};

constexpr Statement cleanup_statement{"sessions_cleanup", R"(
WITH expired_sessions AS (
    DELETE FROM payment_sessions WHERE psid IN (
        SELECT psid FROM payment_sessions WHERE expires_at <= now()
        ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING 1),
expired_gates AS (
    DELETE FROM webhook_gates WHERE key IN (
        SELECT key FROM webhook_gates WHERE expires_at <= now()
        ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING 1)
SELECT (SELECT count(*) FROM expired_sessions), (SELECT count(*) FROM expired_gates))"};

std::string select_sessions(std::string_view tail) {
    return "SELECT " + std::string(session_columns) + " FROM payment_sessions " +
           std::string(tail);
}

std::string fulfilled_key(std::string_view psid) { return "fulfilled:" + std::string(psid); }
std::string event_key(std::string_view key) { return "event:" + std::string(key); }

// One array per column of the upsert, filled a session at a time.
struct SessionColumns {
    ArrayLiteral psid, order_id, cls, email, ticket_hold, goodie_hold, goodie_held, amount,
        currency, created_at, ttl_s;

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
                      columns.goodie_hold.text(), columns.goodie_held.text(),
                      columns.amount.text(), columns.currency.text(), columns.created_at.text(),
                      columns.ttl_s.text());
}

Gate pass_gate(pqxx::work& txn, const GateOp& gate) {
    const std::string keys[] = {fulfilled_key(gate.psid), event_key(gate.event_key)};
    const auto fulfilled_ttl_s = static_cast<std::int64_t>(limits::webhook_fulfilled_ttl_s);
    const auto event_ttl_s = static_cast<std::int64_t>(limits::webhook_event_ttl_s);
    const pqxx::result inserted =
        txn.exec_prepared(gate_statement.name, keys[0], keys[1], fulfilled_ttl_s, event_ttl_s);
    if (inserted.size() == 2) return Gate::first;
    for (const pqxx::row& row : inserted) {
        txn.exec_prepared(gate_undo_statement.name, row[0].as<std::string>());
    }
    return Gate::replay;
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
    std::vector<const FindOp*> finds;
    std::vector<std::pair<std::size_t, const GateOp*>> gates;
    ArrayLiteral removed_psids;
    ArrayLiteral reopened_keys;
    std::vector<std::size_t> find_indexes;

    explicit BatchByKind(const std::vector<Operation>& operations);
};

BatchByKind::BatchByKind(const std::vector<Operation>& operations) {
    for (std::size_t i = 0; i < operations.size(); i++) {
        const Operation& operation = operations[i];
        if (const auto* save = std::get_if<SaveOp>(&operation)) saves.push_back(save);
        if (const auto* gate = std::get_if<GateOp>(&operation)) gates.emplace_back(i, gate);
        if (const auto* remove = std::get_if<RemoveOp>(&operation)) {
            removed_psids.add_text(remove->psid);
        }
        if (const auto* reopen = std::get_if<ReopenOp>(&operation)) {
            reopened_keys.add_text(fulfilled_key(reopen->psid));
            reopened_keys.add_text(event_key(reopen->event_key));
        }
        if (const auto* find = std::get_if<FindOp>(&operation)) {
            finds.push_back(find);
            find_indexes.push_back(i);
        }
    }
    // Gates lock keys; one order for every batch of every process keeps them from deadlocking.
    std::sort(gates.begin(), gates.end(),
              [](const auto& a, const auto& b) { return a.second->psid < b.second->psid; });
}

void write_sessions(pqxx::work& txn, const BatchByKind& batch) {
    if (!batch.saves.empty()) save_sessions(txn, batch.saves);
    if (batch.removed_psids.size() > 0) {
        txn.exec_prepared(remove_statement.name, batch.removed_psids.text());
    }
    if (batch.reopened_keys.size() > 0) {
        txn.exec_prepared(reopen_statement.name, batch.reopened_keys.text());
    }
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
    tigerfans::postgres::prepare_all(
        connection, {save_statement, remove_statement, reopen_statement, gate_statement,
                     gate_undo_statement, count_statement, cleanup_statement,
                     {find_statement, select_sessions(find_where)},
                     {recent_statement, select_sessions(recent_where)}});
}

void create_session_tables(pqxx::connection& connection) {
    pqxx::work txn(connection);
    tigerfans::postgres::apply_schema(
        txn, "sessions",
        {create_sessions_sql, create_sessions_created_index_sql, create_sessions_expiry_index_sql,
         create_gates_sql, create_gates_expiry_index_sql});
    txn.commit();
}

std::vector<Outcome> run_session_batch(pqxx::connection& connection,
                                       const std::vector<Operation>& operations) {
    assert(!operations.empty());
    const BatchByKind batch(operations);
    std::vector<Outcome> outcomes(operations.size(), Done{});
    pqxx::work txn(connection);
    write_sessions(txn, batch);
    for (const auto& [index, gate] : batch.gates) outcomes[index] = pass_gate(txn, *gate);
    read_sessions(txn, batch, outcomes);
    txn.exec_prepared(cleanup_statement.name, cleanup_rows_per_batch_max);
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

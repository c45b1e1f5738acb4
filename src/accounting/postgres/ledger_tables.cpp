// SQL of the PostgreSQL ledger (see ledger_tables.hpp). A batch costs a fixed number of
// statements whatever its size: every row set travels as arrays through `unnest`. Time is the
// database's clock, one for every server process as TigerBeetle's cluster time is, read as
// statement_timestamp(): a batch that waited for another process's locks judges expiry by the
// time it got them, not by when its transaction began.
#include "accounting/postgres/ledger_tables.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "postgres/row_values.hpp"
#include "postgres/schema.hpp"
#include "postgres/sql_array.hpp"
#include "postgres/statement.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/ids.hpp"

namespace tigerfans::accounting::postgres {

namespace {

using tigerfans::postgres::ArrayLiteral;
using tigerfans::postgres::required;
using tigerfans::postgres::SchemaStep;
using tigerfans::postgres::Statement;

constexpr std::string_view create_resources_sql = R"(
CREATE TABLE IF NOT EXISTS ledger_resources (
    name text PRIMARY KEY,
    capacity bigint NOT NULL CHECK (capacity >= 0),
    sold bigint NOT NULL DEFAULT 0 CHECK (sold >= 0),
    held bigint NOT NULL DEFAULT 0 CHECK (held >= 0)
))";

constexpr std::string_view create_holds_sql = R"(
CREATE TABLE IF NOT EXISTS ledger_holds (
    id text PRIMARY KEY,
    resource text NOT NULL,
    status text NOT NULL
        CHECK (status IN ('pending', 'posted', 'voided', 'expired', 'rejected')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    resolved_at timestamptz,
    order_id text
))";

// Tables made before holds carried their order keep working: the column is added, empty.
constexpr std::string_view add_order_id_sql =
    "ALTER TABLE ledger_holds ADD COLUMN IF NOT EXISTS order_id text";

constexpr std::string_view create_expiry_index_sql = R"(
CREATE INDEX IF NOT EXISTS ledger_holds_pending_expiry
    ON ledger_holds (resource, expires_at) WHERE status = 'pending')";

constexpr Statement add_resource_statement{"ledger_add_resource", R"(
INSERT INTO ledger_resources (name, capacity) VALUES ($1, $2)
ON CONFLICT (name) DO NOTHING)"};

constexpr Statement stored_capacity_statement{
    "ledger_stored_capacity", "SELECT capacity FROM ledger_resources WHERE name = $1 FOR UPDATE"};

constexpr Statement set_capacity_statement{
    "ledger_set_capacity", "UPDATE ledger_resources SET capacity = $2 WHERE name = $1"};

constexpr Statement lock_statement{
    "ledger_lock",
    "SELECT name, capacity, sold, held FROM ledger_resources ORDER BY name FOR UPDATE"};

constexpr Statement expire_statement{"ledger_expire", R"(
WITH expired AS (
    UPDATE ledger_holds SET status = 'expired', resolved_at = statement_timestamp()
    WHERE status = 'pending' AND resource = ANY($1::text[]) AND expires_at <= statement_timestamp()
    RETURNING resource)
SELECT resource, count(*) FROM expired GROUP BY resource)"};

constexpr Statement load_statement{
    "ledger_load", "SELECT id, resource, status FROM ledger_holds WHERE id = ANY($1::text[])"};

constexpr Statement insert_statement{"ledger_insert", R"(
INSERT INTO ledger_holds (id, resource, status, created_at, expires_at, resolved_at, order_id)
SELECT id, resource, status, statement_timestamp(),
       CASE WHEN status = 'pending' AND timeout_s > 0
            THEN statement_timestamp() + timeout_s * interval '1 second' END,
       CASE WHEN status <> 'pending' THEN statement_timestamp() END,
       NULLIF(order_id, '')
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])
    AS new_rows (id, resource, status, timeout_s, order_id))"};

// Every hold and booking that took stock, or those of the order $1 ('': all); a pending one
// past its expiry reads as expired (the next batch's sweep would make it so). An order's read
// scans the table on the reader's connection, taking no lock a batch waits for: it serves only
// payments whose session was lost, and an index on the order would cost every hold's insert
// and every post's and void's update (a status change is never a HOT update here, the status
// being in the expiry index's predicate).
constexpr Statement entries_statement{"ledger_entries", R"(
SELECT id, resource,
       CASE WHEN status = 'pending' AND expires_at <= statement_timestamp() THEN 'expired'
            ELSE status END,
       coalesce(order_id, ''),
       (extract(epoch FROM created_at) * 1000000)::bigint,
       (extract(epoch FROM coalesce(resolved_at, CASE WHEN status = 'pending'
           AND expires_at <= statement_timestamp() THEN expires_at END)) * 1000000)::bigint
FROM ledger_holds WHERE status <> 'rejected' AND ($1 = '' OR order_id = $1))"};

constexpr Statement update_statement{"ledger_update", R"(
UPDATE ledger_holds AS hold SET status = changed.status, resolved_at = statement_timestamp()
FROM unnest($1::text[], $2::text[]) AS changed (id, status)
WHERE hold.id = changed.id)"};

constexpr Statement store_balances_statement{"ledger_store_balances", R"(
UPDATE ledger_resources AS resource SET sold = counts.sold, held = counts.held
FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS counts (name, sold, held)
WHERE resource.name = counts.name)"};

constexpr std::array<Resource, resource_count> all_resources = {
    Resource::class_a, Resource::class_b, Resource::goodies};

Resource resource_field(const pqxx::field& field) {
    return required(parse_resource(field.as<std::string>()), "resource");
}

std::string all_resource_names() {
    ArrayLiteral names;
    for (Resource resource : all_resources) names.add_text(resource_name(resource));
    return names.text();
}

void reconcile_capacity(pqxx::work& txn, Resource resource, std::uint64_t capacity) {
    const std::string name(resource_name(resource));
    const auto wanted = static_cast<std::int64_t>(capacity);
    txn.exec_prepared(add_resource_statement.name, name, wanted);
    const auto stored =
        txn.exec_prepared1(stored_capacity_statement.name, name)[0].as<std::int64_t>();
    if (stored == wanted) return;
    spdlog::info("ledger: capacity of {} changes from {} to {} (sold and held stay)", name, stored,
                 wanted);
    txn.exec_prepared(set_capacity_statement.name, name, wanted);
}

Balances lock_balances(pqxx::work& txn) {
    Balances balances{};
    std::size_t locked = 0;
    for (const pqxx::row& row : txn.exec_prepared(lock_statement.name)) {
        const Resource resource = resource_field(row[0]);
        Balance& balance = balances[static_cast<std::size_t>(resource)];
        balance.capacity = row[1].as<std::uint64_t>();
        balance.sold = row[2].as<std::uint64_t>();
        balance.held = row[3].as<std::uint64_t>();
        locked++;
    }
    if (locked != resource_count) throw std::runtime_error("ledger: start() did not run");
    return balances;
}

// Pending holds past their timeout stop counting as held before anything else happens.
void expire_overdue(pqxx::work& txn, Balances& balances) {
    for (const pqxx::row& row : txn.exec_prepared(expire_statement.name, all_resource_names())) {
        const Resource resource = resource_field(row[0]);
        Balance& balance = balances[static_cast<std::size_t>(resource)];
        const auto expired = row[1].as<std::uint64_t>();
        if (expired > balance.held) throw std::runtime_error("ledger: held count is off");
        balance.held -= expired;
    }
}

HoldRows load_rows(pqxx::work& txn, const std::vector<u128>& ids) {
    HoldRows rows;
    if (ids.empty()) return rows;
    ArrayLiteral wanted;
    for (u128 id : ids) wanted.add_text(u128_to_decimal(id));
    for (const pqxx::row& row : txn.exec_prepared(load_statement.name, wanted.text())) {
        const u128 id = tigerfans::postgres::decimal_u128(row[0]);
        HoldRow hold;
        hold.resource = resource_field(row[1]);
        hold.status = required(parse_hold_status(row[2].as<std::string>()), "status");
        rows.emplace(id, hold);
    }
    return rows;
}

void insert_new_rows(pqxx::work& txn, const HoldRows& rows) {
    ArrayLiteral ids, resources, statuses, timeouts, orders;
    for (const auto& [id, row] : rows) {
        if (!row.is_new) continue;
        ids.add_text(u128_to_decimal(id));
        resources.add_text(resource_name(row.resource));
        statuses.add_text(hold_status_name(row.status));
        timeouts.add_int(row.timeout_s);
        orders.add_text(row.order_id == 0 ? std::string() : u128_to_hex(row.order_id));
    }
    if (ids.size() == 0) return;
    txn.exec_prepared(insert_statement.name, ids.text(), resources.text(), statuses.text(),
                      timeouts.text(), orders.text());
}

void update_changed_rows(pqxx::work& txn, const HoldRows& rows) {
    ArrayLiteral ids, statuses;
    for (const auto& [id, row] : rows) {
        if (!row.changed) continue;
        ids.add_text(u128_to_decimal(id));
        statuses.add_text(hold_status_name(row.status));
    }
    if (ids.size() == 0) return;
    const pqxx::result updated =
        txn.exec_prepared(update_statement.name, ids.text(), statuses.text());
    if (updated.affected_rows() != ids.size()) throw std::runtime_error("ledger: lost a hold");
}

void store_balances(pqxx::work& txn, const Balances& balances) {
    ArrayLiteral names, sold, held;
    for (Resource resource : all_resources) {
        const Balance& balance = balances[static_cast<std::size_t>(resource)];
        names.add_text(resource_name(resource));
        sold.add_int(static_cast<std::int64_t>(balance.sold));
        held.add_int(static_cast<std::int64_t>(balance.held));
    }
    txn.exec_prepared(store_balances_statement.name, names.text(), sold.text(), held.text());
}

}  // namespace

void prepare_ledger_statements(pqxx::connection& connection) {
    tigerfans::postgres::prepare_all(
        connection, {add_resource_statement, stored_capacity_statement, set_capacity_statement,
                     lock_statement, expire_statement, load_statement, insert_statement,
                     update_statement, store_balances_statement, entries_statement});
}

void create_ledger(pqxx::connection& connection, const Capacities& capacities) {
    pqxx::work txn(connection);
    tigerfans::postgres::apply_schema(
        txn, "ledger",
        {SchemaStep::always(create_resources_sql), SchemaStep::always(create_holds_sql),
         SchemaStep::column("ledger_holds", "order_id", add_order_id_sql),
         SchemaStep::index("ledger_holds", "ledger_holds_pending_expiry",
                           create_expiry_index_sql)});
    for (Resource resource : all_resources) {
        reconcile_capacity(txn, resource, capacities.of(resource));
    }
    txn.commit();
}

std::vector<Outcome> run_ledger_batch(pqxx::connection& connection,
                                      const std::vector<Operation>& operations) {
    TF_ASSERT(!operations.empty());
    pqxx::work txn(connection);
    const Balances stored = lock_balances(txn);
    Balances balances = stored;
    expire_overdue(txn, balances);
    BatchPlanner planner(balances, load_rows(txn, referenced_ids(operations)));
    std::vector<Outcome> outcomes;
    outcomes.reserve(operations.size());
    for (const Operation& operation : operations) outcomes.push_back(planner.apply(operation));
    insert_new_rows(txn, planner.rows());
    update_changed_rows(txn, planner.rows());
    if (!same_balances(stored, planner.balances())) store_balances(txn, planner.balances());
    txn.commit();
    return outcomes;
}

namespace {
EntryState entry_state(HoldStatus status) {
    switch (status) {
        case HoldStatus::pending: return EntryState::pending;
        case HoldStatus::posted: return EntryState::posted;
        case HoldStatus::voided: return EntryState::voided;
        case HoldStatus::expired:
        case HoldStatus::rejected: break;
    }
    return EntryState::expired;
}

LedgerEntry entry_from_row(const pqxx::row& row) {
    LedgerEntry entry;
    entry.transfer_id = tigerfans::postgres::decimal_u128(row[0]);
    entry.resource = resource_field(row[1]);
    entry.state = entry_state(required(parse_hold_status(row[2].as<std::string>()), "status"));
    const auto order_id = row[3].as<std::string>();
    if (!order_id.empty()) entry.order_id = required(u128_from_hex(order_id), "order_id");
    entry.late = is_derived(entry.transfer_id, Derivation::late_booking);
    entry.created_at_us = row[4].as<std::int64_t>();
    entry.resolved_at_us = row[5].is_null() ? 0 : row[5].as<std::int64_t>();
    return entry;
}
}  // namespace

void check_ledger(pqxx::connection& connection) {
    pqxx::read_transaction txn(connection);
    const auto resources = txn.exec1("SELECT count(*) FROM ledger_resources")[0].as<int>();
    if (resources != static_cast<int>(resource_count)) {
        throw std::runtime_error("ledger: the tables hold no sale");
    }
    txn.exec("SELECT order_id FROM ledger_holds LIMIT 0");
}

std::vector<LedgerEntry> read_ledger_entries(pqxx::connection& connection, u128 order_id) {
    pqxx::read_transaction txn(connection);
    std::vector<LedgerEntry> entries;
    const std::string order = order_id == 0 ? std::string() : u128_to_hex(order_id);
    for (const pqxx::row& row : txn.exec_prepared(entries_statement.name, order)) {
        entries.push_back(entry_from_row(row));
    }
    return entries;
}

}  // namespace tigerfans::accounting::postgres

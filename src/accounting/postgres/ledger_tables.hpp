// The PostgreSQL ledger's tables and its one transaction per batch. Database thread only.
//
//   ledger_resources(name pk, capacity, sold, held): one row per resource (class A, class B,
//       goodies), the counterpart of TigerBeetle's Budget account. Every batch locks all of
//       them FOR UPDATE in name order before reading anything, so batches of every process
//       on the database run one after the other on the counters: no oversell, no deadlock.
//   ledger_holds(id pk, resource, status, created_at, expires_at, resolved_at, order_id): one
//       row per hold or late booking (batch_planner.hpp), with the order it was made for; a
//       partial index on (resource, expires_at) of pending rows finds the overdue holds each
//       batch expires first.
#pragma once

#include <pqxx/pqxx>
#include <vector>

#include "accounting/postgres/batch_planner.hpp"

namespace tigerfans::accounting::postgres {

void prepare_ledger_statements(pqxx::connection& connection);

// Creates the tables and the resource rows; keeps sold and held of existing rows and updates a
// capacity that differs from the configured one (logged).
void create_ledger(pqxx::connection& connection, const Capacities& capacities);

// One batch, one transaction: lock, expire, load, plan, write, commit.
std::vector<Outcome> run_ledger_batch(pqxx::connection& connection,
                                      const std::vector<Operation>& operations);

// Throws when the tables are not there (a database no server set up), changing nothing.
void check_ledger(pqxx::connection& connection);

// Every hold and late booking but the refused ones (Ledger::entries), or those of one order
// when `order_id` is not 0 (Ledger::entries_of), in one read transaction.
std::vector<LedgerEntry> read_ledger_entries(pqxx::connection& connection, u128 order_id = 0);

}  // namespace tigerfans::accounting::postgres

// Level 1 and 2 accounting (docs/ARCHITECTURE.md §2, §4): the Ledger on PostgreSQL. Every
// call becomes one operation of the store's automatic batcher; each batch, whatever mix of
// holds, commits, late bookings, cancels and inventory reads it holds, runs as ONE transaction
// on the ledger's database thread (ledger_tables.cpp), so the cost of a commit is shared by
// everyone who arrived while the previous one was in flight.
//
// Operations are named before they are awaited: GCC 12 destroys a brace-initialised temporary
// inside a co_await expression twice.
#include "accounting/postgres/postgres_ledger.hpp"

#include "accounting/postgres/batch_planner.hpp"
#include "accounting/postgres/ledger_tables.hpp"
#include "postgres/worker_batcher.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::accounting {

namespace {

using postgres::Operation;
using postgres::Outcome;

class PostgresLedger final : public Ledger {
public:
    PostgresLedger(asio::any_io_executor loop, std::string database_url, Capacities capacities,
                   metrics::Registry& registry)
        : capacities_(capacities),
          worker_(loop, database_url, "ledger", postgres::prepare_ledger_statements),
          reader_(std::move(loop), std::move(database_url), "ledger_read",
                  postgres::prepare_ledger_statements),
          batcher_(worker_, postgres::run_ledger_batch, limits::pg_accounting_batch_ops_max,
                   registry, "ledger") {}

    std::string_view backend_name() const override { return "PostgreSQL"; }

    asio::awaitable<Status> start() override {
        co_return co_await worker_.run<Done>([capacities = capacities_](pqxx::connection& c) {
            postgres::create_ledger(c, capacities);
            return Done{};
        });
    }

    asio::awaitable<Status> attach() override {
        co_return co_await reader_.run<Done>([](pqxx::connection& connection) {
            postgres::check_ledger(connection);
            return Done{};
        });
    }

    asio::awaitable<Result<HoldResult>> hold(HoldRequest request) override {
        TF_ASSERT(request.ticket_hold_id != 0 && request.ticket_hold_id != request.goodie_hold_id);
        const postgres::HoldOp operation{request};
        co_return co_await batcher_.submit_one_as<HoldResult>(operation);
    }

    asio::awaitable<Result<CommitResult>> commit(CommitRequest request) override {
        TF_ASSERT(request.ticket_hold_id != 0);
        const postgres::CommitOp operation{request};
        co_return co_await batcher_.submit_one_as<CommitResult>(operation);
    }

    asio::awaitable<Result<BookResult>> book_late(CommitRequest request) override {
        TF_ASSERT(request.ticket_hold_id != 0);
        const postgres::BookLateOp operation{request};
        co_return co_await batcher_.submit_one_as<BookResult>(operation);
    }

    asio::awaitable<Status> cancel(TicketClass cls, u128 ticket_hold_id,
                                   u128 goodie_hold_id) override {
        const postgres::CancelOp operation{cls, ticket_hold_id, goodie_hold_id};
        co_return co_await batcher_.submit_one_as<Done>(operation);
    }

    asio::awaitable<Result<Inventory>> inventory() override {
        co_return co_await batcher_.submit_one_as<Inventory>(postgres::InventoryOp());
    }

    // On a connection of its own, so a long scan never delays a batch.
    asio::awaitable<Result<std::vector<LedgerEntry>>> entries() override {
        co_return co_await reader_.run<std::vector<LedgerEntry>>(postgres::read_ledger_entries);
    }

    asio::awaitable<bool> healthy() override { co_return co_await worker_.ping(); }

    asio::awaitable<void> stop() override { co_await batcher_.stop(); }

private:
    const Capacities capacities_;
    tigerfans::postgres::Worker worker_;
    tigerfans::postgres::Worker reader_;
    tigerfans::postgres::WorkerBatcher<Operation, Outcome> batcher_;
};

}  // namespace

std::unique_ptr<Ledger> make_postgres_ledger(boost::asio::any_io_executor loop,
                                             std::string database_url, Capacities capacities,
                                             metrics::Registry& registry) {
    return std::make_unique<PostgresLedger>(std::move(loop), std::move(database_url), capacities,
                                            registry);
}

}  // namespace tigerfans::accounting

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
#include "accounting/postgres/seat_tables.hpp"
#include "postgres/worker_batcher.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::accounting {

namespace {

using postgres::Operation;
using postgres::Outcome;

// The seats on a connection of their own: one transaction per hold or resolution, each locking
// its seats' rows in seat order. The map's reads take another, so a hold waiting for another
// process's row lock never delays them.
class PostgresSeatLedger final : public SeatLedger {
public:
    PostgresSeatLedger(const asio::any_io_executor& loop, const std::string& database_url,
                       const seating::Venue& venue)
        : venue_(postgres::seat_venue(venue)),
          worker_(loop, database_url, "seats", postgres::prepare_seat_statements),
          reader_(loop, database_url, "seats_read", postgres::prepare_seat_statements) {}

    // Every call from now on fails with shutting_down.
    void stop() { stopped_ = true; }

    // Each job is named before it is awaited (see the top of this file).
    asio::awaitable<Status> start() {
        auto job = [venue = venue_](pqxx::connection& connection) {
            postgres::create_seats(connection, venue);
            return Done{};
        };
        co_return co_await worker_.run<Done>(std::move(job));
    }

    asio::awaitable<Result<seating::SeatStates>> seat_states() override {
        if (stopped_) co_return Fault::shutting_down;
        auto job = [venue = venue_](pqxx::connection& connection) {
            return postgres::read_seat_states(connection, venue);
        };
        co_return co_await reader_.run<seating::SeatStates>(std::move(job));
    }

    asio::awaitable<Result<SeatHoldResult>> hold_seats(SeatHoldRequest request) override {
        TF_ASSERT(valid_seat_hold(request, venue_.seat_count));
        if (stopped_) co_return Fault::shutting_down;
        auto job = [venue = venue_, request = std::move(request)](pqxx::connection& connection) {
            return postgres::hold_seats(connection, venue, request);
        };
        co_return co_await worker_.run<SeatHoldResult>(std::move(job));
    }

    asio::awaitable<Result<std::vector<Resolution>>> post_seats(SeatHolds holds) override {
        co_return co_await resolve(std::move(holds), true);
    }

    asio::awaitable<Result<std::vector<Resolution>>> void_seats(SeatHolds holds) override {
        co_return co_await resolve(std::move(holds), false);
    }

    asio::awaitable<Result<std::vector<SeatHoldEntry>>> hold_entries() override {
        if (stopped_) co_return Fault::shutting_down;
        auto job = [venue = venue_](pqxx::connection& connection) {
            return postgres::read_seat_holds(connection, venue, 0);
        };
        co_return co_await reader_.run<std::vector<SeatHoldEntry>>(std::move(job));
    }

    asio::awaitable<Result<std::vector<SeatHoldEntry>>> hold_entries_of(u128 order_id) override {
        TF_ASSERT(order_id != 0);
        if (stopped_) co_return Fault::shutting_down;
        auto job = [venue = venue_, order_id](pqxx::connection& connection) {
            return postgres::read_seat_holds(connection, venue, order_id);
        };
        co_return co_await reader_.run<std::vector<SeatHoldEntry>>(std::move(job));
    }

private:
    asio::awaitable<Result<std::vector<Resolution>>> resolve(SeatHolds holds, bool posting) {
        if (stopped_) co_return Fault::shutting_down;
        auto job = [venue = venue_, holds = std::move(holds), posting](pqxx::connection& c) {
            return postgres::resolve_seats(c, venue, holds, posting);
        };
        co_return co_await worker_.run<std::vector<Resolution>>(std::move(job));
    }

    const postgres::SeatVenue venue_;
    tigerfans::postgres::Worker worker_;
    tigerfans::postgres::Worker reader_;
    bool stopped_ = false;
};

class PostgresLedger final : public Ledger {
public:
    PostgresLedger(asio::any_io_executor loop, std::string database_url, Capacities capacities,
                   metrics::Registry& registry, const seating::Venue* venue)
        : capacities_(capacities),
          worker_(loop, database_url, "ledger", postgres::prepare_ledger_statements),
          reader_(loop, database_url, "ledger_read", postgres::prepare_ledger_statements),
          batcher_(worker_, postgres::run_ledger_batch, limits::pg_accounting_batch_ops_max,
                   registry, "ledger") {
        if (venue != nullptr) {
            seats_ = std::make_unique<PostgresSeatLedger>(loop, database_url, *venue);
        }
    }

    std::string_view backend_name() const override { return "PostgreSQL"; }

    asio::awaitable<Status> start() override {
        auto create = [capacities = capacities_](pqxx::connection& c) {
            postgres::create_ledger(c, capacities);
            return Done{};
        };
        Status created = co_await worker_.run<Done>(std::move(create));
        if (!created || !seats_) co_return created;
        Status seated = co_await seats_->start();
        seats_ready_ = seated.ok();
        co_return seated;
    }

    SeatLedger* seats() override { return seats_ready_ ? seats_.get() : nullptr; }

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
        co_return co_await reader_.run<std::vector<LedgerEntry>>(
            [](pqxx::connection& connection) { return postgres::read_ledger_entries(connection); });
    }

    asio::awaitable<Result<std::vector<LedgerEntry>>> entries_of(u128 order_id) override {
        TF_ASSERT(order_id != 0);
        co_return co_await reader_.run<std::vector<LedgerEntry>>(
            [order_id](pqxx::connection& connection) {
                return postgres::read_ledger_entries(connection, order_id);
            });
    }

    asio::awaitable<bool> healthy() override { co_return co_await worker_.ping(); }

    asio::awaitable<void> stop() override {
        if (seats_) seats_->stop();
        co_await batcher_.stop();
    }

private:
    const Capacities capacities_;
    tigerfans::postgres::Worker worker_;
    tigerfans::postgres::Worker reader_;
    tigerfans::postgres::WorkerBatcher<Operation, Outcome> batcher_;
    std::unique_ptr<PostgresSeatLedger> seats_;  // With a venue.
    bool seats_ready_ = false;
};

}  // namespace

std::unique_ptr<Ledger> make_postgres_ledger(boost::asio::any_io_executor loop,
                                             std::string database_url, Capacities capacities,
                                             metrics::Registry& registry,
                                             const seating::Venue* venue) {
    return std::make_unique<PostgresLedger>(std::move(loop), std::move(database_url), capacities,
                                            registry, venue);
}

}  // namespace tigerfans::accounting

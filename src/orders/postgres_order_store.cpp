// PostgreSQL orders (docs/ARCHITECTURE.md §2; §3, webhook step 4). Writes are group-committed:
// every order queued while a transaction is in flight goes into the next one, as ONE multi-row
// INSERT (the batch travels as arrays through `unnest`), and each caller resumes only after that
// transaction's COMMIT. Inserts have several connections: the batcher keeps up to one batch in
// flight per connection, each on an idle one (postgres/worker_batcher.hpp). Reads of many ids
// become one SELECT ... WHERE id = ANY($1), except for the paid orders this process wrote lately,
// which it answers from memory (orders/recent_orders.hpp): the status poll after a payment.
//
// The INSERT says ON CONFLICT DO NOTHING without naming a constraint, so that besides a replayed
// id, a ticket code that collides with another order's skips its row instead of aborting the
// whole batch. Rows neither inserted nor already present are exactly those collisions: they get
// fresh codes and are inserted again in the same transaction. A replayed id keeps its row,
// except that a paid order takes over a FAILED or CANCELED one (is_paid, may_replace); every
// caller is answered with the status its id has once the batch committed.
//
// Two transactions carrying the same id: the second one's INSERT waits for the first to end.
// When the first committed, the row is skipped and read back (each statement of a READ
// COMMITTED transaction sees what committed before it), and the upgrade's WHERE is checked
// again against the committed row, so a paid order is stored once and both callers get its
// status; when the first rolled back, the second inserts the row. Rows go in id order
// (orders/order_batch.hpp), so two batches sharing ids wait for each other in one direction
// only and do not deadlock.
#include "orders/postgres_order_store.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

#include "orders/order_batch.hpp"
#include "orders/recent_orders.hpp"
#include "postgres/row_values.hpp"
#include "postgres/schema.hpp"
#include "postgres/sql_array.hpp"
#include "postgres/statement.hpp"
#include "postgres/worker_batcher.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/crash_points.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/seating/seat_list.hpp"

namespace tigerfans::orders {

namespace {

using postgres::ArrayLiteral;
using postgres::decimal_u128;
using postgres::required;
using postgres::SchemaStep;
using postgres::Statement;

// A fresh random code colliding again is astronomically unlikely (32^10 codes); a loop that
// keeps colliding is a bug, and it fails the batch instead of spinning.
constexpr int ticket_code_attempts_max = 4;

// Paid orders kept in memory for reads: some 400 bytes each, and at 4,000 orders a second the
// last eight seconds' worth, when a fan's status poll comes.
constexpr std::size_t recent_orders_kept = 32'768;

constexpr std::string_view create_table_sql = R"(
CREATE TABLE IF NOT EXISTS orders (
    id text PRIMARY KEY,
    tb_transfer_id text NOT NULL,
    goodie_tb_transfer_id text NOT NULL,
    try_goodie boolean NOT NULL,
    cls text NOT NULL,
    qty integer NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    customer_email text NOT NULL,
    status text NOT NULL
        CHECK (status IN ('PAID', 'PAID_UNFULFILLED', 'FAILED', 'CANCELED')),
    created_at timestamptz NOT NULL,
    paid_at timestamptz,
    ticket_code text UNIQUE,
    got_goodie boolean NOT NULL,
    seats text NOT NULL DEFAULT ''
))";

// Tables made before reserved seating: a seat order's seats as seating/seat_list.hpp writes
// them; '' for a class.
constexpr std::string_view add_seats_column_sql =
    "ALTER TABLE orders ADD COLUMN IF NOT EXISTS seats text NOT NULL DEFAULT ''";

constexpr std::string_view create_index_sql =
    "CREATE INDEX IF NOT EXISTS orders_created_at_idx ON orders (created_at DESC)";

// The refund list (and the reconciler's count of it) reads only these rows.
constexpr std::string_view create_unfulfilled_index_sql =
    "CREATE INDEX IF NOT EXISTS orders_unfulfilled_idx ON orders (id) "
    "WHERE status = 'PAID_UNFULFILLED'";

constexpr Statement insert_statement{"orders_insert", R"(
INSERT INTO orders (id, tb_transfer_id, goodie_tb_transfer_id, try_goodie, cls, qty, amount,
                    currency, customer_email, status, created_at, paid_at, ticket_code,
                    got_goodie, seats)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[],
                     $6::integer[], $7::bigint[], $8::text[], $9::text[], $10::text[],
                     $11::timestamptz[], $12::timestamptz[], $13::text[], $14::boolean[],
                     $15::text[])
ON CONFLICT DO NOTHING
RETURNING id)"};

constexpr Statement existing_statement{"orders_existing",
                                       "SELECT id, status FROM orders WHERE id = ANY($1::text[])"};

// A paid order whose id is stored as FAILED or CANCELED replaces that row's outcome (a success
// after, or racing with, a failure of the same session); nothing ever moves the other way.
constexpr Statement upgrade_statement{"orders_upgrade", R"(
UPDATE orders SET status = paid.status, paid_at = paid.paid_at, ticket_code = paid.ticket_code,
    got_goodie = paid.got_goodie, tb_transfer_id = paid.tb_transfer_id,
    goodie_tb_transfer_id = paid.goodie_tb_transfer_id
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::boolean[], $6::text[],
            $7::text[])
    AS paid (id, status, paid_at, ticket_code, got_goodie, tb_transfer_id, goodie_tb_transfer_id)
WHERE orders.id = paid.id AND orders.status IN ('FAILED', 'CANCELED')
    AND paid.status IN ('PAID', 'PAID_UNFULFILLED'))"};

// An order the reconciler wrote from the ledger has no email (the session held it); the
// webhook that settles the same session later brings it.
constexpr Statement fill_email_statement{"orders_fill_email", R"(
UPDATE orders SET customer_email = given.email
FROM unnest($1::text[], $2::text[]) AS given (id, email)
WHERE orders.id = given.id AND orders.customer_email = '' AND given.email <> '')"};

constexpr std::string_view order_columns =
    "id, tb_transfer_id, goodie_tb_transfer_id, try_goodie, cls, qty, amount, currency, "
    "customer_email, status, (extract(epoch FROM created_at) * 1000000)::bigint, "
    "(extract(epoch FROM paid_at) * 1000000)::bigint, ticket_code, got_goodie, seats";

constexpr const char* find_statement = "orders_find";
constexpr std::string_view find_where = "WHERE id = ANY($1::text[])";

constexpr const char* recent_statement = "orders_recent";
constexpr std::string_view recent_order = "ORDER BY created_at DESC, id DESC LIMIT $1";

constexpr const char* with_status_statement = "orders_with_status";
constexpr std::string_view with_status_where = "WHERE status = $1 AND id > $2 ORDER BY id LIMIT $3";

std::string select_orders(std::string_view tail) {
    return "SELECT " + std::string(order_columns) + " FROM orders " + std::string(tail);
}

void prepare_statements(pqxx::connection& connection) {
    postgres::prepare_all(connection, {insert_statement,
                                       existing_statement,
                                       upgrade_statement,
                                       fill_email_statement,
                                       {find_statement, select_orders(find_where)},
                                       {recent_statement, select_orders(recent_order)},
                                       {with_status_statement, select_orders(with_status_where)}});
}

// One array per column of the INSERT, filled an order at a time.
struct OrderColumns {
    ArrayLiteral id, ticket_transfer, goodie_transfer, try_goodie, cls, qty, amount, currency,
        email, status, created_at, paid_at, ticket_code, got_goodie, seats;

    void add(const Order& order) {
        id.add_text(order.id);
        ticket_transfer.add_text(u128_to_decimal(order.ticket_transfer_id));
        goodie_transfer.add_text(u128_to_decimal(order.goodie_transfer_id));
        try_goodie.add_bool(order.try_goodie);
        cls.add_text(class_name(order.cls));
        qty.add_int(order.qty);
        amount.add_int(order.amount_cents);
        currency.add_text(order.currency);
        email.add_text(order.customer_email);
        status.add_text(status_name(order.status));
        created_at.add_text(iso8601_utc(order.created_at_us));
        paid_at.add_optional_text(order.paid_at_us ? std::optional(iso8601_utc(*order.paid_at_us))
                                                   : std::nullopt);
        ticket_code.add_optional_text(order.ticket_code.empty() ? std::nullopt
                                                                : std::optional(order.ticket_code));
        got_goodie.add_bool(order.got_goodie);
        seats.add_text(seating::seat_list_text(order.seats));
    }
};

std::unordered_set<std::string> insert_rows(pqxx::work& txn, const std::vector<Order*>& orders) {
    OrderColumns columns;
    for (const Order* order : orders) columns.add(*order);
    const pqxx::result inserted = txn.exec_prepared(
        insert_statement.name, columns.id.text(), columns.ticket_transfer.text(),
        columns.goodie_transfer.text(), columns.try_goodie.text(), columns.cls.text(),
        columns.qty.text(), columns.amount.text(), columns.currency.text(), columns.email.text(),
        columns.status.text(), columns.created_at.text(), columns.paid_at.text(),
        columns.ticket_code.text(), columns.got_goodie.text(), columns.seats.text());
    std::unordered_set<std::string> ids;
    for (const pqxx::row& row : inserted) ids.insert(row[0].as<std::string>());
    return ids;
}

// The stored status of every order whose id was in the table before this insert.
using StoredStatuses = std::unordered_map<std::string, OrderStatus>;

// The orders that were skipped although their id is not in the table: ticket code collisions.
// Those skipped because their id exists get their stored status in `stored`.
std::vector<Order*> collided(pqxx::work& txn, const std::vector<Order*>& orders,
                             const std::unordered_set<std::string>& inserted,
                             StoredStatuses& stored) {
    ArrayLiteral skipped_ids;
    for (const Order* order : orders) {
        if (!inserted.contains(order->id)) skipped_ids.add_text(order->id);
    }
    if (skipped_ids.size() == 0) return {};
    for (const pqxx::row& row : txn.exec_prepared(existing_statement.name, skipped_ids.text())) {
        stored[row[0].as<std::string>()] =
            required(parse_status(row[1].as<std::string>()), "status");
    }
    std::vector<Order*> result;
    for (Order* order : orders) {
        if (!inserted.contains(order->id) && !stored.contains(order->id)) {
            result.push_back(order);
        }
    }
    return result;
}

void issue_new_ticket_codes(const std::vector<Order*>& orders) {
    for (Order* order : orders) {
        TF_ASSERT(!order->ticket_code.empty());  // Without a code there is nothing to collide.
        spdlog::warn("orders: ticket code {} of order {} is taken; issuing another",
                     order->ticket_code, order->id);
        order->ticket_code = new_ticket_code();
    }
}

// Inserts what is new; answers the status each id has afterwards (its own when inserted, the
// stored row's when the id existed). Ticket code collisions get fresh codes and go again.
// `existed` gets the orders whose id was stored before, `written` those stored as they are.
StoredStatuses insert_new(pqxx::work& txn, const std::vector<Order*>& orders,
                          std::vector<Order*>& existed, std::vector<Order*>& written) {
    StoredStatuses stored;
    std::vector<Order*> pending = orders;
    for (int attempt = 0; !pending.empty(); attempt++) {
        if (attempt == ticket_code_attempts_max) {
            throw std::runtime_error("orders: ticket codes keep colliding");
        }
        const std::unordered_set<std::string> inserted = insert_rows(txn, pending);
        for (Order* order : pending) {
            if (!inserted.contains(order->id)) continue;
            stored[order->id] = order->status;
            written.push_back(order);
        }
        std::vector<Order*> attempted = std::move(pending);
        pending = collided(txn, attempted, inserted, stored);
        for (Order* order : attempted) {
            if (!inserted.contains(order->id) && stored.contains(order->id)) {
                existed.push_back(order);
            }
        }
        issue_new_ticket_codes(pending);
    }
    TF_ASSERT(stored.size() == orders.size());
    return stored;
}

// Paid orders whose id is stored unpaid take that row over; `stored` then says what the table
// holds for them (re-read: another process may have moved a row in between).
void upgrade_unpaid(pqxx::work& txn, const std::vector<Order*>& orders, StoredStatuses& stored) {
    ArrayLiteral id, status, paid_at, ticket_code, got_goodie, ticket_transfer, goodie_transfer;
    for (const Order* order : orders) {
        if (!may_replace(stored.at(order->id), order->status)) continue;
        id.add_text(order->id);
        status.add_text(status_name(order->status));
        paid_at.add_optional_text(order->paid_at_us ? std::optional(iso8601_utc(*order->paid_at_us))
                                                    : std::nullopt);
        ticket_code.add_optional_text(
            order->ticket_code.empty() ? std::nullopt : std::optional(order->ticket_code));
        got_goodie.add_bool(order->got_goodie);
        ticket_transfer.add_text(u128_to_decimal(order->ticket_transfer_id));
        goodie_transfer.add_text(u128_to_decimal(order->goodie_transfer_id));
    }
    if (id.size() == 0) return;
    txn.exec_prepared(upgrade_statement.name, id.text(), status.text(), paid_at.text(),
                      ticket_code.text(), got_goodie.text(), ticket_transfer.text(),
                      goodie_transfer.text());
    for (const pqxx::row& row : txn.exec_prepared(existing_statement.name, id.text())) {
        stored[row[0].as<std::string>()] =
            required(parse_status(row[1].as<std::string>()), "status");
    }
}

void fill_missing_emails(pqxx::work& txn, const std::vector<Order*>& existed) {
    ArrayLiteral id, email;
    for (const Order* order : existed) {
        if (order->customer_email.empty()) continue;
        id.add_text(order->id);
        email.add_text(order->customer_email);
    }
    if (id.size() > 0) txn.exec_prepared(fill_email_statement.name, id.text(), email.text());
}

// What one insert learned: the status its id has in the table afterwards and, when its order
// became a new row that never changes (RecentOrders::may_keep), that row as written, its final
// ticket code included.
struct Inserted {
    OrderStatus status = OrderStatus::paid;
    std::optional<Order> row;
};

// Database thread: the whole batch in one transaction.
std::vector<Inserted> insert_batch(pqxx::connection& connection, std::vector<Order>& orders) {
    pqxx::work txn(connection);
    const std::vector<Order*> chosen = one_per_id_in_id_order(orders);
    std::vector<Order*> existed, written;
    StoredStatuses stored = insert_new(txn, chosen, existed, written);
    upgrade_unpaid(txn, chosen, stored);
    fill_missing_emails(txn, existed);
    crash::point("orders.mid_commit");
    txn.commit();
    std::vector<Inserted> answers;
    answers.reserve(orders.size());
    for (const Order& order : orders) answers.push_back({stored.at(order.id), std::nullopt});
    for (Order* order : written) {
        if (!RecentOrders::may_keep(*order)) continue;
        const auto index = static_cast<std::size_t>(order - orders.data());  // Chosen from orders.
        TF_ASSERT_LT(index, orders.size());
        answers[index].row = std::move(*order);
    }
    return answers;
}

Order order_from_row(const pqxx::row& row) {
    Order order;
    order.id = row[0].as<std::string>();
    order.ticket_transfer_id = decimal_u128(row[1]);
    order.goodie_transfer_id = decimal_u128(row[2]);
    order.try_goodie = row[3].as<bool>();
    order.cls = required(parse_class(row[4].as<std::string>()), "class");
    order.qty = row[5].as<int>();
    order.amount_cents = row[6].as<std::int64_t>();
    order.currency = row[7].as<std::string>();
    order.customer_email = row[8].as<std::string>();
    order.status = required(parse_status(row[9].as<std::string>()), "status");
    order.created_at_us = row[10].as<std::int64_t>();
    if (!row[11].is_null()) order.paid_at_us = row[11].as<std::int64_t>();
    if (!row[12].is_null()) order.ticket_code = row[12].as<std::string>();
    order.got_goodie = row[13].as<bool>();
    order.seats = required(seating::parse_seat_list(row[14].as<std::string>()), "seats");
    return order;
}

// Database thread: one SELECT for every id asked for meanwhile.
std::vector<std::optional<Order>> find_batch(pqxx::connection& connection,
                                             std::vector<std::string>& ids) {
    ArrayLiteral wanted;
    for (const std::string& id : ids) wanted.add_text(id);
    pqxx::nontransaction query(connection);
    std::unordered_map<std::string, Order> found;
    for (const pqxx::row& row : query.exec_prepared(find_statement, wanted.text())) {
        Order order = order_from_row(row);
        found.emplace(order.id, std::move(order));
    }
    std::vector<std::optional<Order>> result;
    result.reserve(ids.size());
    for (const std::string& id : ids) {
        const auto hit = found.find(id);
        result.push_back(hit == found.end() ? std::nullopt : std::optional(hit->second));
    }
    return result;
}

// One value PostgreSQL cannot store would fail the whole batch it travels in.
bool storable(const Order& order) {
    return is_valid_order_id(order.id) && postgres::is_storable_text(order.currency) &&
           postgres::is_storable_text(order.customer_email) &&
           postgres::is_storable_text(order.ticket_code);
}

class PostgresOrderStore final : public OrderStore {
public:
    PostgresOrderStore(asio::any_io_executor loop, std::string database_url,
                       std::size_t insert_connections, metrics::Registry& registry)
        : writers_(postgres::make_workers(loop, database_url, "orders", insert_connections,
                                          prepare_statements)),
          reader_(std::move(loop), std::move(database_url), "orders_read", prepare_statements),
          inserts_(postgres::pointers(writers_), insert_batch, limits::pg_order_batch_rows_max,
                   registry, "orders"),
          finds_(reader_, find_batch, limits::pg_read_batch_ids_max, registry, "orders_read") {
        TF_ASSERT(insert_connections <= limits::pg_order_connections_max);
    }

    asio::awaitable<Status> start() override {
        co_return co_await writers_.front()->run<Done>([](pqxx::connection& connection) {
            pqxx::work txn(connection);
            postgres::apply_schema(
                txn, "orders",
                {SchemaStep::always(create_table_sql),
                 SchemaStep::column("orders", "seats", add_seats_column_sql),
                 SchemaStep::index("orders", "orders_created_at_idx", create_index_sql),
                 SchemaStep::index("orders", "orders_unfulfilled_idx",
                                   create_unfulfilled_index_sql)});
            txn.commit();
            return Done{};
        });
    }

    asio::awaitable<Result<OrderStatus>> insert(Order order) override {
        TF_ASSERT(is_valid_order_id(order.id));
        TF_ASSERT(storable(order));  // The webhook flow stores only what checkout validated.
        if (!storable(order)) co_return Fault::internal;
        Result<Inserted> inserted = co_await inserts_.submit_one(std::move(order));
        if (!inserted) co_return inserted.fault();
        if (inserted->row) recent_.remember(std::move(*inserted->row));
        co_return inserted->status;
    }

    // Ids are 32 hex digits: anything else cannot exist, and stays out of the batch. A paid
    // order this process wrote lately is answered from memory.
    asio::awaitable<Result<std::optional<Order>>> find(std::string_view id) override {
        if (!is_valid_order_id(id)) co_return std::optional<Order>();
        if (const Order* kept = recent_.find(id)) co_return std::optional<Order>(*kept);
        co_return co_await finds_.submit_one(std::string(id));
    }

    asio::awaitable<Result<std::vector<Order>>> recent(std::size_t limit) override {
        const auto rows = static_cast<std::int64_t>(std::min(limit, limits::admin_orders_max));
        co_return co_await reader_.run<std::vector<Order>>([rows](pqxx::connection& connection) {
            pqxx::nontransaction query(connection);
            std::vector<Order> orders;
            for (const pqxx::row& row : query.exec_prepared(recent_statement, rows)) {
                orders.push_back(order_from_row(row));
            }
            return orders;
        });
    }

    // Plain functions returning the worker's awaitable: the jobs own strings, and GCC 12
    // mishandles lambdas that capture strings inside a coroutine.
    asio::awaitable<Result<std::vector<Order>>> find_many(std::vector<std::string> ids) override {
        std::erase_if(ids, [](const std::string& id) { return !is_valid_order_id(id); });
        return reader_.run<std::vector<Order>>(
            [ids = std::move(ids)](pqxx::connection& connection) mutable {
                std::vector<Order> orders;
                for (std::optional<Order>& order : find_batch(connection, ids)) {
                    if (order) orders.push_back(std::move(*order));
                }
                return orders;
            });
    }

    asio::awaitable<Result<std::vector<Order>>> with_status(OrderStatus status,
                                                            std::string after_id,
                                                            std::size_t limit) override {
        return reader_.run<std::vector<Order>>(
            [status, after = std::move(after_id),
             rows = static_cast<std::int64_t>(limit)](pqxx::connection& connection) {
                pqxx::nontransaction query(connection);
                std::vector<Order> orders;
                for (const pqxx::row& row : query.exec_prepared(
                         with_status_statement, std::string(status_name(status)), after, rows)) {
                    orders.push_back(order_from_row(row));
                }
                return orders;
            });
    }

    // Every connection answers: a connection that is down fails the batches it takes.
    asio::awaitable<bool> healthy() override {
        bool all = co_await reader_.ping();
        for (const auto& writer : writers_) {
            const bool answered = co_await writer->ping();
            all = all && answered;
        }
        co_return all;
    }

    asio::awaitable<void> stop() override {
        co_await inserts_.stop();
        co_await finds_.stop();
    }

private:
    // Inserts have insert_connections connections and as many batches in flight, each on an
    // idle connection: a batch commits while the next is already being written. Reads have a
    // connection of their own: a status poll never waits behind the fsync of an insert batch.
    // Inserts are awaited until committed, so a read that follows sees them.
    std::vector<std::unique_ptr<postgres::Worker>> writers_;
    postgres::Worker reader_;
    postgres::WorkerBatcher<Order, Inserted> inserts_;
    postgres::WorkerBatcher<std::string, std::optional<Order>> finds_;
    RecentOrders recent_{recent_orders_kept};
};

}  // namespace

std::unique_ptr<OrderStore> make_postgres_order_store(boost::asio::any_io_executor loop,
                                                      std::string database_url,
                                                      std::size_t insert_connections,
                                                      metrics::Registry& registry) {
    return std::make_unique<PostgresOrderStore>(std::move(loop), std::move(database_url),
                                                insert_connections, registry);
}

}  // namespace tigerfans::orders

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

#include <map>
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
    seats text NOT NULL DEFAULT '',
    payment_key text DEFAULT ''
))";

// Tables made before reserved seating: a seat order's seats as seating/seat_list.hpp writes
// them; '' for a class.
constexpr std::string_view add_seats_column_sql =
    "ALTER TABLE orders ADD COLUMN IF NOT EXISTS seats text NOT NULL DEFAULT ''";

// Tables made before payments were told apart. payment_key is the provider's key of the
// payment that paid the order (see optional_key for NULL); '' on rows from before the column
// and rows an older build writes, which names no key (so the column's default): a paid one
// was paid by a payment nobody kept the key of, and any keyed payment of it is recorded as a
// duplicate whose first payment is unknown, for a person to check.
constexpr std::string_view add_payment_key_column_sql =
    "ALTER TABLE orders ADD COLUMN IF NOT EXISTS payment_key text DEFAULT ''";

// Second payments of paid orders, owed back; the payment's key is the row's, so a redelivery
// records nothing twice.
constexpr std::string_view create_duplicates_table_sql = R"(
CREATE TABLE IF NOT EXISTS duplicate_payments (
    payment_key text PRIMARY KEY,
    order_id text NOT NULL,
    paid_by text NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    customer_email text NOT NULL,
    recorded_at timestamptz NOT NULL
))";

constexpr std::string_view create_index_sql =
    "CREATE INDEX IF NOT EXISTS orders_created_at_idx ON orders (created_at DESC)";

// The refund list (and the reconciler's count of it) reads only these rows.
constexpr std::string_view create_unfulfilled_index_sql =
    "CREATE INDEX IF NOT EXISTS orders_unfulfilled_idx ON orders (id) "
    "WHERE status = 'PAID_UNFULFILLED'";

constexpr Statement insert_statement{"orders_insert", R"(
INSERT INTO orders (id, tb_transfer_id, goodie_tb_transfer_id, try_goodie, cls, qty, amount,
                    currency, customer_email, status, created_at, paid_at, ticket_code,
                    got_goodie, seats, payment_key)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[],
                     $6::integer[], $7::bigint[], $8::text[], $9::text[], $10::text[],
                     $11::timestamptz[], $12::timestamptz[], $13::text[], $14::boolean[],
                     $15::text[], $16::text[])
ON CONFLICT DO NOTHING
RETURNING id)"};

constexpr Statement existing_statement{"orders_existing",
                                       "SELECT id, status FROM orders WHERE id = ANY($1::text[])"};

// A paid order whose id is stored as FAILED or CANCELED replaces that row's outcome (a success
// after, or racing with, a failure of the same session); nothing ever moves the other way.
constexpr Statement upgrade_statement{"orders_upgrade", R"(
UPDATE orders SET status = paid.status, paid_at = paid.paid_at, ticket_code = paid.ticket_code,
    got_goodie = paid.got_goodie, tb_transfer_id = paid.tb_transfer_id,
    goodie_tb_transfer_id = paid.goodie_tb_transfer_id, payment_key = paid.payment_key
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::boolean[], $6::text[],
            $7::text[], $8::text[])
    AS paid (id, status, paid_at, ticket_code, got_goodie, tb_transfer_id, goodie_tb_transfer_id,
             payment_key)
WHERE orders.id = paid.id AND orders.status IN ('FAILED', 'CANCELED')
    AND paid.status IN ('PAID', 'PAID_UNFULFILLED'))"};

// An order the reconciler wrote from the ledger has no email (the session held it); the
// webhook that settles the same session later brings it.
constexpr Statement fill_email_statement{"orders_fill_email", R"(
UPDATE orders SET customer_email = given.email
FROM unnest($1::text[], $2::text[]) AS given (id, email)
WHERE orders.id = given.id AND orders.customer_email = '' AND given.email <> '')"};

// A paid row without a payment key (the reconciler's) takes the key of the first payment of
// it that arrives; every row answers with the key it keeps.
constexpr Statement fill_payment_key_statement{"orders_fill_payment_key", R"(
UPDATE orders SET payment_key = given.payment_key
FROM unnest($1::text[], $2::text[]) AS given (id, payment_key)
WHERE orders.id = given.id AND orders.payment_key IS NULL
    AND orders.status IN ('PAID', 'PAID_UNFULFILLED'))"};

constexpr Statement payment_keys_statement{
    "orders_payment_keys",
    "SELECT id, payment_key FROM orders WHERE id = ANY($1::text[]) "
    "AND status IN ('PAID', 'PAID_UNFULFILLED') AND payment_key IS NOT NULL"};

constexpr Statement record_duplicates_statement{"orders_record_duplicates", R"(
INSERT INTO duplicate_payments (payment_key, order_id, paid_by, amount, currency,
                                customer_email, recorded_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                     $7::timestamptz[])
ON CONFLICT DO NOTHING
RETURNING payment_key)"};

constexpr Statement duplicates_statement{"orders_duplicates", R"(
SELECT payment_key, order_id, paid_by, amount, currency, customer_email,
       (extract(epoch FROM recorded_at) * 1000000)::bigint
FROM duplicate_payments ORDER BY recorded_at DESC, payment_key LIMIT $1)"};

constexpr std::string_view order_columns =
    "id, tb_transfer_id, goodie_tb_transfer_id, try_goodie, cls, qty, amount, currency, "
    "customer_email, status, (extract(epoch FROM created_at) * 1000000)::bigint, "
    "(extract(epoch FROM paid_at) * 1000000)::bigint, ticket_code, got_goodie, seats, payment_key";

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
                                       fill_payment_key_statement,
                                       payment_keys_statement,
                                       record_duplicates_statement,
                                       duplicates_statement,
                                       {find_statement, select_orders(find_where)},
                                       {recent_statement, select_orders(recent_order)},
                                       {with_status_statement, select_orders(with_status_where)}});
}

// The key column of an order's row: the key of the payment that paid it; NULL for a paid
// order no known payment paid (the reconciler's: the first payment of it that arrives gives
// it one); '' for an unpaid order, so that an older build's upgrade of the row to paid, which
// names no key, leaves '', a payment nobody kept the key of, as the column's default does.
std::optional<std::string> optional_key(const Order& order) {
    if (!is_paid(order.status)) return std::string();
    if (order.payment_key.empty()) return std::nullopt;
    return order.payment_key;
}

// One array per column of the INSERT, filled an order at a time.
struct OrderColumns {
    ArrayLiteral id, ticket_transfer, goodie_transfer, try_goodie, cls, qty, amount, currency,
        email, status, created_at, paid_at, ticket_code, got_goodie, seats, payment_key;

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
        payment_key.add_optional_text(optional_key(order));
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
        columns.ticket_code.text(), columns.got_goodie.text(), columns.seats.text(),
        columns.payment_key.text());
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
// `written` gets the orders stored as they are.
StoredStatuses insert_new(pqxx::work& txn, const std::vector<Order*>& orders,
                          std::vector<Order*>& written) {
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
        pending = collided(txn, pending, inserted, stored);
        issue_new_ticket_codes(pending);
    }
    TF_ASSERT(stored.size() == orders.size());
    return stored;
}

// Paid orders whose id is stored unpaid take that row over; `stored` then says what the table
// holds for them (re-read: another process may have moved a row in between).
void upgrade_unpaid(pqxx::work& txn, const std::vector<Order*>& orders, StoredStatuses& stored) {
    ArrayLiteral id, status, paid_at, ticket_code, got_goodie, ticket_transfer, goodie_transfer,
        payment_key;
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
        payment_key.add_optional_text(optional_key(*order));
    }
    if (id.size() == 0) return;
    txn.exec_prepared(upgrade_statement.name, id.text(), status.text(), paid_at.text(),
                      ticket_code.text(), got_goodie.text(), ticket_transfer.text(),
                      goodie_transfer.text(), payment_key.text());
    for (const pqxx::row& row : txn.exec_prepared(existing_statement.name, id.text())) {
        stored[row[0].as<std::string>()] =
            required(parse_status(row[1].as<std::string>()), "status");
    }
}

// A stored row without an email (the reconciler's) takes the first one the batch carries for
// its id: from an order whose id was stored before, or from one beside the row the batch chose
// to insert. Ids whose row was `written` with an email need nothing, so the usual batch sends
// no statement. In id order, as every other write of a batch.
void fill_missing_emails(pqxx::work& txn, const std::vector<Order>& orders,
                         const std::vector<Order*>& written) {
    std::unordered_set<std::string_view> complete;
    for (const Order* order : written) {
        if (!order->customer_email.empty()) complete.insert(order->id);
    }
    std::map<std::string_view, std::string_view> first_emails;
    for (const Order& order : orders) {
        if (order.customer_email.empty() || complete.contains(order.id)) continue;
        first_emails.try_emplace(order.id, order.customer_email);
    }
    ArrayLiteral id, email;
    for (const auto& [order_id, customer_email] : first_emails) {
        id.add_text(order_id);
        email.add_text(customer_email);
    }
    if (id.size() > 0) txn.exec_prepared(fill_email_statement.name, id.text(), email.text());
}

// The payment key each of `ids` keeps once a paid row without one took the first payment's in
// `first_payments` (parallel to `ids`); ids of unpaid rows or without a key are left out.
std::unordered_map<std::string, std::string> kept_payment_keys(pqxx::work& txn,
                                                               const ArrayLiteral& ids,
                                                               const ArrayLiteral& first_payments) {
    std::unordered_map<std::string, std::string> kept;
    if (ids.size() == 0) return kept;
    txn.exec_prepared(fill_payment_key_statement.name, ids.text(), first_payments.text());
    for (const pqxx::row& row : txn.exec_prepared(payment_keys_statement.name, ids.text())) {
        kept.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    }
    return kept;
}

// The payments in `orders` (paid, with a key) of ids whose row keeps another payment's key:
// each is recorded once as a duplicate payment, owed back. Answers those recorded now. An
// order `written` in this batch keeps its own key; the others' are read from their rows.
std::vector<DuplicatePayment> record_duplicate_payments(pqxx::work& txn,
                                                        const std::vector<Order>& orders,
                                                        const std::vector<Order*>& written) {
    std::unordered_map<std::string, std::string> kept;
    for (const Order* order : written) {
        if (is_paid(order->status) && !order->payment_key.empty()) {
            kept.emplace(order->id, order->payment_key);
        }
    }
    // In id order, as every other write of a batch, so two batches never wait on each other's
    // rows in opposite orders; likewise the duplicates in key order.
    std::map<std::string_view, std::string_view> first_payments;
    for (const Order& order : orders) {
        if (!is_paid(order.status) || order.payment_key.empty()) continue;
        if (!kept.contains(order.id)) first_payments.try_emplace(order.id, order.payment_key);
    }
    ArrayLiteral unknown_ids, their_keys;
    for (const auto& [id, key] : first_payments) {
        unknown_ids.add_text(id);
        their_keys.add_text(key);
    }
    kept.merge(kept_payment_keys(txn, unknown_ids, their_keys));

    std::map<std::string_view, DuplicatePayment> duplicates;
    const std::int64_t now_us = unix_now_us();
    for (const Order& order : orders) {
        if (!is_paid(order.status) || order.payment_key.empty()) continue;
        const auto keeps = kept.find(order.id);
        if (keeps == kept.end() || keeps->second == order.payment_key) continue;
        duplicates.try_emplace(
            order.payment_key,
            DuplicatePayment{order.payment_key, order.id, keeps->second, order.amount_cents,
                             order.currency, order.customer_email, now_us});
    }
    std::vector<DuplicatePayment> recorded;
    if (duplicates.empty()) return recorded;
    ArrayLiteral key, order_id, paid_by, amount, currency, email, recorded_at;
    for (const auto& [payment_key, duplicate] : duplicates) {
        key.add_text(payment_key);
        order_id.add_text(duplicate.order_id);
        paid_by.add_text(duplicate.paid_by);
        amount.add_int(duplicate.amount_cents);
        currency.add_text(duplicate.currency);
        email.add_text(duplicate.customer_email);
        recorded_at.add_text(iso8601_utc(now_us));
    }
    for (const pqxx::row& row : txn.exec_prepared(
             record_duplicates_statement.name, key.text(), order_id.text(), paid_by.text(),
             amount.text(), currency.text(), email.text(), recorded_at.text())) {
        recorded.push_back(duplicates.at(row[0].as<std::string>()));
    }
    return recorded;
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
    std::vector<Order*> written;
    StoredStatuses stored = insert_new(txn, chosen, written);
    upgrade_unpaid(txn, chosen, stored);
    fill_missing_emails(txn, orders, written);
    const std::vector<DuplicatePayment> duplicates =
        record_duplicate_payments(txn, orders, written);
    crash::point("orders.mid_commit");
    txn.commit();
    for (const DuplicatePayment& duplicate : duplicates) {
        spdlog::warn("orders: payment {} of order {}, already paid by {}, recorded as owed back",
                     duplicate.payment_key, duplicate.order_id, duplicate.paid_by);
    }
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
    if (!row[15].is_null()) order.payment_key = row[15].as<std::string>();
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
           postgres::is_storable_text(order.ticket_code) &&
           postgres::is_storable_text(order.payment_key);
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
                 SchemaStep::column("orders", "payment_key", add_payment_key_column_sql),
                 SchemaStep::always(create_duplicates_table_sql),
                 SchemaStep::index("orders", "orders_created_at_idx", create_index_sql),
                 SchemaStep::index("orders", "orders_unfulfilled_idx",
                                   create_unfulfilled_index_sql)});
            txn.commit();
            return Done{};
        });
    }

    asio::awaitable<Result<OrderStatus>> insert(Order order) override {
        TF_ASSERT(is_valid_order_id(order.id));
        // The webhook flow stores only what checkout validated, and payment keys as
        // orders::stored_payment_key writes them.
        TF_ASSERT(storable(order));
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

    asio::awaitable<Result<std::vector<DuplicatePayment>>> duplicate_payments(
        std::size_t limit) override {
        const auto rows = static_cast<std::int64_t>(std::min(limit, limits::admin_orders_max));
        return reader_.run<std::vector<DuplicatePayment>>([rows](pqxx::connection& connection) {
            pqxx::nontransaction query(connection);
            std::vector<DuplicatePayment> duplicates;
            for (const pqxx::row& row : query.exec_prepared(duplicates_statement.name, rows)) {
                duplicates.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                                      row[2].as<std::string>(), row[3].as<std::int64_t>(),
                                      row[4].as<std::string>(), row[5].as<std::string>(),
                                      row[6].as<std::int64_t>()});
            }
            return duplicates;
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

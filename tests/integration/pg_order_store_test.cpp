// The PostgreSQL order store against a real database: rows round-trip, concurrent inserts are
// group-committed (fewer transactions than orders, every row lands), replays are ignored,
// listings are newest first, and a ticket code collision costs neither row.
#include <pqxx/pqxx>
#include <set>

#include "orders/postgres_order_store.hpp"
#include "pg_test_helpers.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/ids.hpp"

namespace tigerfans::orders {
namespace {

using asio::awaitable;

class PgOrderStoreTest : public testing::PgTest {
protected:
    void SetUp() override {
        store_ = make_postgres_order_store(io_.get_executor(), database_url_, registry_);
        ASSERT_TRUE(run([&] { return store_->start(); }).ok());
    }

    void TearDown() override {
        run([&]() -> awaitable<bool> {
            co_await store_->stop();
            co_return true;
        });
    }

    Order make_order(std::int64_t created_at_us) {
        Order order;
        order.id = order_id_from(ids_.next());
        order.ticket_transfer_id = ids_.next();
        order.goodie_transfer_id = ids_.next();
        order.try_goodie = true;
        order.cls = TicketClass::b;
        order.amount_cents = price_cents(TicketClass::b);
        order.currency = "eur";
        order.customer_email = "fan\"'{x},@example.com";  // Quotes and braces must survive.
        order.status = OrderStatus::paid;
        order.created_at_us = created_at_us;
        order.paid_at_us = created_at_us + 1'500'123;
        order.ticket_code = new_ticket_code();
        order.got_goodie = true;
        return order;
    }

    std::optional<Order> find(const std::string& id) {
        auto found = run([&] { return store_->find(id); });
        EXPECT_TRUE(found.ok());
        return found.ok() ? *found : std::nullopt;
    }

    std::size_t row_count() {
        pqxx::connection connection(database_url_);
        pqxx::nontransaction query(connection);
        return query.exec("SELECT count(*) FROM orders")[0][0].as<std::size_t>();
    }

    IdGenerator ids_;
    std::unique_ptr<OrderStore> store_;
};

void expect_same(const Order& a, const Order& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_TRUE(a.ticket_transfer_id == b.ticket_transfer_id);
    EXPECT_TRUE(a.goodie_transfer_id == b.goodie_transfer_id);
    EXPECT_EQ(a.try_goodie, b.try_goodie);
    EXPECT_EQ(a.cls, b.cls);
    EXPECT_EQ(a.qty, b.qty);
    EXPECT_EQ(a.amount_cents, b.amount_cents);
    EXPECT_EQ(a.currency, b.currency);
    EXPECT_EQ(a.customer_email, b.customer_email);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.created_at_us, b.created_at_us);
    EXPECT_EQ(a.paid_at_us, b.paid_at_us);
    EXPECT_EQ(a.ticket_code, b.ticket_code);
    EXPECT_EQ(a.got_goodie, b.got_goodie);
}

// Every field comes back as written, to the microsecond.
TEST_F(PgOrderStoreTest, AnInsertedOrderIsFoundWithEveryField) {
    const Order order = make_order(unix_now_us());
    ASSERT_TRUE(run([&] { return store_->insert(order); }).ok());
    const auto found = find(order.id);
    ASSERT_TRUE(found.has_value());
    expect_same(*found, order);
}

// An unfulfilled order has no ticket code and no paid_at; both come back empty.
TEST_F(PgOrderStoreTest, AnOrderWithoutTicketCodeOrPaidAtRoundTrips) {
    Order order = make_order(unix_now_us());
    order.status = OrderStatus::paid_unfulfilled;
    order.ticket_code.clear();
    order.paid_at_us.reset();
    Order second = make_order(unix_now_us());
    second.ticket_code.clear();  // Many orders may lack a code: NULLs never collide.
    ASSERT_TRUE(run([&] { return store_->insert(order); }).ok());
    ASSERT_TRUE(run([&] { return store_->insert(second); }).ok());
    const auto found = find(order.id);
    ASSERT_TRUE(found.has_value());
    expect_same(*found, order);
    EXPECT_TRUE(find(second.id).has_value());
}

TEST_F(PgOrderStoreTest, AnUnknownIdIsNotFound) {
    EXPECT_FALSE(find(order_id_from(ids_.next())).has_value());
}

// Many concurrent inserts share transactions, and every one of them is durable on return.
TEST_F(PgOrderStoreTest, ConcurrentInsertsAreGroupCommittedAndAllLand) {
    const std::size_t order_count = testing::test_ops(3000);
    std::vector<Order> orders;
    for (std::size_t i = 0; i < order_count; i++) orders.push_back(make_order(unix_now_us()));
    const auto started = std::chrono::steady_clock::now();
    const auto results = run_concurrently<Result<OrderStatus>>(
        order_count, [&](std::size_t i) { return store_->insert(orders[i]); });
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    for (const auto& result : results) EXPECT_TRUE(result.ok());
    EXPECT_EQ(row_count(), order_count);
    const metrics::Histogram* batches = batch_sizes("orders");
    ASSERT_NE(batches, nullptr);
    EXPECT_EQ(batches->sum(), static_cast<double>(order_count));
    EXPECT_LT(batches->count(), order_count / 10);  // Transactions, not one per order.
    std::printf("[ measure  ] %zu orders in %llu transactions, %.0f orders/s\n", order_count,
                static_cast<unsigned long long>(batches->count()),
                static_cast<double>(order_count) / elapsed.count());
}

// Concurrent finds of many ids become few SELECTs and each caller gets its own order.
TEST_F(PgOrderStoreTest, ConcurrentFindsAreBatchedAndAnsweredPerCaller) {
    constexpr std::size_t order_count = 200;
    std::vector<Order> orders;
    for (std::size_t i = 0; i < order_count; i++) orders.push_back(make_order(unix_now_us()));
    run_concurrently<Result<OrderStatus>>(order_count,
                                          [&](std::size_t i) { return store_->insert(orders[i]); });
    // Even callers ask for an inserted order, odd ones for an id that does not exist.
    std::vector<std::string> wanted;
    for (std::size_t i = 0; i < order_count * 2; i++) {
        wanted.push_back(i % 2 == 0 ? orders[i / 2].id : order_id_from(ids_.next()));
    }
    const auto found = run_concurrently<Result<std::optional<Order>>>(
        wanted.size(), [&](std::size_t i) { return store_->find(wanted[i]); });
    for (std::size_t i = 0; i < found.size(); i++) {
        ASSERT_TRUE(found[i].ok());
        ASSERT_EQ(found[i]->has_value(), i % 2 == 0);
        if (i % 2 == 0) {
            EXPECT_EQ((*found[i])->ticket_code, orders[i / 2].ticket_code);
        }
    }
    EXPECT_LT(batch_sizes("orders_read")->count(), order_count);
}

// A replayed order (same id) succeeds, leaves the first row as it was and answers with the
// stored row's status, not its own.
TEST_F(PgOrderStoreTest, ADuplicateIdIsIgnoredAndTheFirstRowStays) {
    const Order order = make_order(unix_now_us());
    Order replay = order;
    replay.customer_email = "other@example.com";
    replay.ticket_code = new_ticket_code();
    replay.status = OrderStatus::paid_unfulfilled;
    const auto first = run([&] { return store_->insert(order); });
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, order.status);
    const auto again = run([&] { return store_->insert(replay); });
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, order.status);
    // The same id twice in one batch too.
    const auto both = run_concurrently<Result<OrderStatus>>(
        2, [&](std::size_t) { return store_->insert(replay); });
    ASSERT_TRUE(both[0].ok() && both[1].ok());
    EXPECT_EQ(*both[0], order.status);
    EXPECT_EQ(*both[1], order.status);
    EXPECT_EQ(row_count(), 1u);
    expect_same(*find(order.id), order);
}

// An order only moves from unpaid to paid: a paid order takes over a stored FAILED row (and
// its ticket), a FAILED one never replaces a paid row; both callers learn the stored status.
TEST_F(PgOrderStoreTest, APaidOrderReplacesAnUnpaidRowAndNeverTheOtherWay) {
    Order failed = make_order(unix_now_us());
    failed.status = OrderStatus::failed;
    failed.ticket_code.clear();
    failed.paid_at_us.reset();
    failed.got_goodie = false;
    Order paid = make_order(failed.created_at_us);
    paid.id = failed.id;
    ASSERT_EQ(*run([&] { return store_->insert(failed); }), OrderStatus::failed);
    ASSERT_EQ(*run([&] { return store_->insert(paid); }), OrderStatus::paid);
    expect_same(*find(paid.id), paid);
    EXPECT_EQ(*run([&] { return store_->insert(failed); }), OrderStatus::paid);
    expect_same(*find(paid.id), paid);
}

// A new id twice in one batch (two deliveries of one session): the paid one is stored, and
// both callers are told so. The first insert goes out alone; the two behind it share a batch.
TEST_F(PgOrderStoreTest, TheSameNewIdTwiceInOneBatchStoresThePaidOneForBoth) {
    const Order ahead = make_order(unix_now_us());
    Order paid = make_order(ahead.created_at_us);
    Order canceled = paid;
    canceled.status = OrderStatus::canceled;
    canceled.ticket_code.clear();
    const std::vector<Order> orders = {ahead, canceled, paid};
    const auto batches_before = batch_sizes("orders")->count();
    const auto results = run_concurrently<Result<OrderStatus>>(
        orders.size(), [&](std::size_t i) { return store_->insert(orders[i]); });
    EXPECT_EQ(batch_sizes("orders")->count() - batches_before, 2u);
    for (const auto& result : results) {
        ASSERT_TRUE(result.ok());
        EXPECT_EQ(*result, OrderStatus::paid);
    }
    EXPECT_EQ(row_count(), 2u);
    expect_same(*find(paid.id), paid);
}

TEST_F(PgOrderStoreTest, RecentListsNewestFirstUpToTheLimit) {
    const std::int64_t now_us = unix_now_us();
    std::vector<Order> orders;
    for (int i = 0; i < 5; i++) orders.push_back(make_order(now_us + i * 1000));
    // Inserted out of order: the listing sorts by created_at, not by arrival.
    for (int i : {2, 0, 4, 1, 3}) {
        ASSERT_TRUE(run([&] { return store_->insert(orders[static_cast<std::size_t>(i)]); }).ok());
    }
    const auto recent = run([&] { return store_->recent(3); });
    ASSERT_TRUE(recent.ok());
    ASSERT_EQ(recent->size(), 3u);
    EXPECT_EQ((*recent)[0].id, orders[4].id);
    EXPECT_EQ((*recent)[1].id, orders[3].id);
    EXPECT_EQ((*recent)[2].id, orders[2].id);
}

// A new order whose ticket code another order holds lands with a fresh code; so do two orders
// of one batch that carry the same code; the batch around them is not lost.
TEST_F(PgOrderStoreTest, ATicketCodeCollisionGetsAFreshCodeAndLosesNoRow) {
    const Order first = make_order(unix_now_us());
    ASSERT_TRUE(run([&] { return store_->insert(first); }).ok());
    std::vector<Order> batch;
    for (int i = 0; i < 20; i++) batch.push_back(make_order(unix_now_us()));
    batch[3].ticket_code = first.ticket_code;
    batch[7].ticket_code = batch[8].ticket_code;
    const auto results = run_concurrently<Result<OrderStatus>>(
        batch.size(), [&](std::size_t i) { return store_->insert(batch[i]); });
    for (const auto& result : results) EXPECT_TRUE(result.ok());
    EXPECT_EQ(row_count(), batch.size() + 1);
    std::set<std::string> codes{find(first.id)->ticket_code};
    for (const Order& order : batch) {
        const auto found = find(order.id);
        ASSERT_TRUE(found.has_value());
        EXPECT_TRUE(found->ticket_code.starts_with("TCK-"));
        codes.insert(found->ticket_code);
    }
    EXPECT_EQ(codes.size(), batch.size() + 1);
    EXPECT_EQ(find(first.id)->ticket_code, first.ticket_code);  // The first holder keeps it.
}

// start() is idempotent: a second store on the same database keeps the rows.
TEST_F(PgOrderStoreTest, StartingAgainKeepsTheRows) {
    const Order order = make_order(unix_now_us());
    ASSERT_TRUE(run([&] { return store_->insert(order); }).ok());
    auto again = make_postgres_order_store(io_.get_executor(), database_url_, registry_);
    ASSERT_TRUE(run([&] { return again->start(); }).ok());
    const auto found = run([&] { return again->find(order.id); });
    ASSERT_TRUE(found.ok());
    EXPECT_TRUE(found->has_value());
    run([&]() -> awaitable<bool> {
        co_await again->stop();
        co_return true;
    });
}

}  // namespace
}  // namespace tigerfans::orders

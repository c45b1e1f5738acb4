// The outbox's SQL, run on its own database thread (one connection, rarely busy).
#include "mockpay/outbox.hpp"

#include "postgres/schema.hpp"
#include "postgres/sql_array.hpp"
#include "postgres/statement.hpp"
#include "tigerfans/core/assert.hpp"

namespace tigerfans::mockpay {

namespace {

using postgres::Statement;

constexpr std::string_view create_table_sql = R"(
CREATE TABLE IF NOT EXISTS mockpay_outbox (
    event_key text PRIMARY KEY,
    psid text NOT NULL,
    body text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
))";

constexpr std::string_view create_index_sql =
    "CREATE INDEX IF NOT EXISTS mockpay_outbox_next_attempt ON mockpay_outbox (next_attempt_at)";

constexpr Statement add_statement{"outbox_add", R"(
INSERT INTO mockpay_outbox (event_key, psid, body, next_attempt_at)
VALUES ($1, $2, $3, now() + $4::bigint * interval '1 second')
ON CONFLICT (event_key) DO NOTHING)"};

constexpr Statement remove_statement{"outbox_remove",
                                     "DELETE FROM mockpay_outbox WHERE event_key = $1"};

constexpr Statement claim_statement{"outbox_claim", R"(
UPDATE mockpay_outbox SET attempts = attempts + 1,
    next_attempt_at = now() + least(power(2, attempts), $2::bigint) * interval '1 second'
WHERE event_key IN (
    SELECT event_key FROM mockpay_outbox WHERE next_attempt_at <= now()
    ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING event_key, psid, body)"};

constexpr Statement exhausted_statement{"outbox_exhausted", R"(
DELETE FROM mockpay_outbox WHERE attempts >= $1 RETURNING event_key, psid, body)"};

void prepare_statements(pqxx::connection& connection) {
    postgres::prepare_all(connection,
                          {add_statement, remove_statement, claim_statement, exhausted_statement});
}

std::vector<OutboxEvent> events_from(const pqxx::result& rows) {
    std::vector<OutboxEvent> events;
    events.reserve(rows.size());
    for (const pqxx::row& row : rows) {
        events.push_back(
            {row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()});
    }
    return events;
}

}  // namespace

Outbox::Outbox(boost::asio::any_io_executor loop, std::string database_url)
    : worker_(std::move(loop), std::move(database_url), "mockpay_outbox", prepare_statements) {}

asio::awaitable<Status> Outbox::start() {
    return worker_.run<Done>([](pqxx::connection& connection) {
        pqxx::work txn(connection);
        postgres::apply_schema(txn, "mockpay_outbox", {create_table_sql, create_index_sql});
        txn.commit();
        return Done{};
    });
}

// The methods below are plain functions returning the worker's awaitable, never coroutines
// themselves: GCC 12 destroys a lambda's captured strings twice when the lambda is made inside
// a coroutine.
asio::awaitable<Status> Outbox::add(const OutboxEvent& event, std::chrono::seconds first_retry) {
    TF_ASSERT(!event.event_key.empty() && !event.body.empty());
    TF_ASSERT(postgres::is_storable_text(event.psid));  // MockPay only emits for stored sessions.
    const std::int64_t retry_s = first_retry.count();
    return worker_.run<Done>([event, retry_s](pqxx::connection& connection) {
        pqxx::nontransaction command(connection);
        command.exec_prepared(add_statement.name, event.event_key, event.psid, event.body, retry_s);
        return Done{};
    });
}

asio::awaitable<Status> Outbox::remove(const std::string& event_key) {
    return worker_.run<Done>([event_key](pqxx::connection& connection) {
        pqxx::nontransaction command(connection);
        command.exec_prepared(remove_statement.name, event_key);
        return Done{};
    });
}

asio::awaitable<Result<std::vector<OutboxEvent>>> Outbox::claim_due(std::int64_t limit) {
    TF_ASSERT_GT(limit, 0);
    return worker_.run<std::vector<OutboxEvent>>([limit](pqxx::connection& connection) {
        pqxx::work txn(connection);
        const pqxx::result rows =
            txn.exec_prepared(claim_statement.name, limit, outbox_retry_pause_max_s);
        txn.commit();
        return events_from(rows);
    });
}

asio::awaitable<Result<std::vector<OutboxEvent>>> Outbox::drop_exhausted(
    std::int32_t attempts_max) {
    return worker_.run<std::vector<OutboxEvent>>([attempts_max](pqxx::connection& connection) {
        pqxx::nontransaction command(connection);
        return events_from(command.exec_prepared(exhausted_statement.name, attempts_max));
    });
}

}  // namespace tigerfans::mockpay

// The outbox's SQL. Adds and removes go through an automatic batcher: each batch is one
// transaction on one of the outbox's connections (group commit), so under load the events of
// many payments share a commit. The redelivery loop's claims run on the first connection
// between batches.
#include "mockpay/outbox.hpp"

#include <string_view>
#include <unordered_set>

#include "postgres/schema.hpp"
#include "postgres/sql_array.hpp"
#include "postgres/statement.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::mockpay {

namespace {

using postgres::Statement;

// Events added or removed per transaction, and the outbox's connections (one batch committing
// while the next forms).
constexpr std::size_t batch_events_max = 2'000;
constexpr std::size_t connections = 2;
static_assert(limits::batcher_queue_items_max >= batch_events_max);

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

// Events given up on, kept for the operator: a payment among them reached no order.
constexpr std::string_view create_dead_letters_sql = R"(
CREATE TABLE IF NOT EXISTS mockpay_dead_letters (
    event_key text PRIMARY KEY,
    psid text NOT NULL,
    body text NOT NULL,
    attempts integer NOT NULL,
    created_at timestamptz NOT NULL,
    gave_up_at timestamptz NOT NULL DEFAULT now()
))";

constexpr std::string_view create_dead_letters_index_sql =
    "CREATE INDEX IF NOT EXISTS mockpay_dead_letters_gave_up_at "
    "ON mockpay_dead_letters (gave_up_at)";

// A batch's events as arrays: key, psid, body and seconds until the first background attempt.
// Returns the keys it stored: a key the outbox holds already is the same emit sent again.
constexpr Statement add_statement{"outbox_add", R"(
INSERT INTO mockpay_outbox (event_key, psid, body, next_attempt_at)
SELECT k, p, b, now() + r * interval '1 second'
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS e(k, p, b, r)
ON CONFLICT (event_key) DO NOTHING
RETURNING event_key)"};

constexpr Statement remove_statement{
    "outbox_remove", "DELETE FROM mockpay_outbox WHERE event_key = ANY($1::text[])"};

constexpr Statement claim_statement{"outbox_claim", R"(
UPDATE mockpay_outbox SET attempts = attempts + 1,
    next_attempt_at = now() + least(power(2, attempts), $2::bigint) * interval '1 second'
WHERE event_key IN (
    SELECT event_key FROM mockpay_outbox WHERE next_attempt_at <= now() AND attempts < $3
    ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING event_key, psid, body)"};

// Only due events, by the index on next_attempt_at: a backlog of events waiting out their
// pauses is not read every second. An exhausted event is due again once its last pause ends.
// It moves to the dead letters in the same statement, so a crash cannot lose it in between.
constexpr Statement exhausted_statement{"outbox_exhausted", R"(
WITH dropped AS (
    DELETE FROM mockpay_outbox
    WHERE event_key IN (
        SELECT event_key FROM mockpay_outbox WHERE next_attempt_at <= now() AND attempts >= $1
        ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING event_key, psid, body, attempts, created_at)
INSERT INTO mockpay_dead_letters (event_key, psid, body, attempts, created_at)
SELECT event_key, psid, body, attempts, created_at FROM dropped
ON CONFLICT (event_key) DO UPDATE SET body = EXCLUDED.body, gave_up_at = now()
RETURNING event_key, psid, body)"};

// Payments only: failures and cancels given up on paid nothing. Bodies are MockPay's JSON.
constexpr Statement dead_payments_statement{"outbox_dead_payments", R"(
SELECT event_key, psid, body, (extract(epoch FROM gave_up_at) * 1000000)::bigint
FROM mockpay_dead_letters WHERE body::jsonb ->> 'type' = 'payment.succeeded'
ORDER BY gave_up_at DESC, event_key LIMIT $1)"};

void prepare_statements(pqxx::connection& connection) {
    postgres::prepare_all(connection, {add_statement, remove_statement, claim_statement,
                                       exhausted_statement, dead_payments_statement});
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

// One batch of adds and removes in one transaction, the adds first. An add and a removal of
// one key meet in a batch when the form is sent again as its first event was delivered: the
// add stores nothing (the row is there) or stores it again, and the removal then deletes it,
// which is right, since the key was delivered. Of the adds with one key (one emit of a
// session, sent again) the first is sent, and stored unless the outbox holds the key already;
// the others store nothing.
std::vector<OutboxWritten> write_batch(pqxx::connection& connection,
                                       std::vector<OutboxChange>& changes) {
    postgres::ArrayLiteral keys, psids, bodies, retries, removed;
    std::unordered_set<std::string_view> sent;
    for (const OutboxChange& change : changes) {
        if (!change.add) {
            removed.add_text(change.event.event_key);
        } else if (sent.insert(change.event.event_key).second) {
            keys.add_text(change.event.event_key);
            psids.add_text(change.event.psid);
            bodies.add_text(change.event.body);
            retries.add_int(change.first_retry_s);
        }
    }
    pqxx::work txn(connection);
    std::unordered_set<std::string> stored;
    if (keys.size() > 0) {
        for (const pqxx::row& row : txn.exec_prepared(add_statement.name, keys.text(), psids.text(),
                                                      bodies.text(), retries.text())) {
            stored.insert(row[0].as<std::string>());
        }
    }
    if (removed.size() > 0) txn.exec_prepared(remove_statement.name, removed.text());
    txn.commit();
    // Each stored key answers true to its first add only.
    std::vector<OutboxWritten> written;
    written.reserve(changes.size());
    for (const OutboxChange& change : changes) {
        if (change.add) {
            written.emplace_back(stored.erase(change.event.event_key) > 0);
        } else {
            written.emplace_back(Done{});
        }
    }
    return written;
}

}  // namespace

Outbox::Outbox(boost::asio::any_io_executor loop, const std::string& database_url,
               metrics::Registry& registry)
    : workers_(postgres::make_workers(loop, database_url, "mockpay_outbox", connections,
                                      prepare_statements)),
      changes_(postgres::pointers(workers_), write_batch, batch_events_max, registry,
               "mockpay_outbox") {}

Outbox::~Outbox() = default;

postgres::Worker& Outbox::worker() { return *workers_.front(); }

asio::awaitable<Status> Outbox::start() {
    return worker().run<Done>([](pqxx::connection& connection) {
        pqxx::work txn(connection);
        postgres::apply_schema(
            txn, "mockpay_outbox",
            {postgres::SchemaStep::always(create_table_sql),
             postgres::SchemaStep::index("mockpay_outbox", "mockpay_outbox_next_attempt",
                                         create_index_sql),
             postgres::SchemaStep::always(create_dead_letters_sql),
             postgres::SchemaStep::index("mockpay_dead_letters", "mockpay_dead_letters_gave_up_at",
                                         create_dead_letters_index_sql)});
        txn.commit();
        return Done{};
    });
}

// The methods below are plain functions returning the worker's awaitable, never coroutines
// themselves: GCC 12 destroys a lambda's captured strings twice when the lambda is made inside
// a coroutine.
asio::awaitable<Result<bool>> Outbox::add(const OutboxEvent& event,
                                          std::chrono::seconds first_retry) {
    TF_ASSERT(!event.event_key.empty() && !event.body.empty());
    TF_ASSERT(postgres::is_storable_text(event.psid));  // MockPay only emits for stored sessions.
    TF_ASSERT(postgres::is_storable_text(event.body));  // Its own JSON of a stored session.
    return changes_.submit_one_as<bool>(OutboxChange{true, event, first_retry.count()});
}

asio::awaitable<Status> Outbox::remove(const std::string& event_key) {
    TF_ASSERT(postgres::is_storable_text(event_key));  // Keys are MockPay's own.
    return changes_.submit_one_as<Done>(OutboxChange{false, OutboxEvent{event_key, {}, {}}, 0});
}

asio::awaitable<void> Outbox::stop() { return changes_.stop(); }

asio::awaitable<Result<std::vector<OutboxEvent>>> Outbox::claim_due(std::int64_t limit,
                                                                    std::int32_t attempts_max) {
    TF_ASSERT_GT(limit, 0);
    return worker().run<std::vector<OutboxEvent>>([limit,
                                                   attempts_max](pqxx::connection& connection) {
        pqxx::work txn(connection);
        const pqxx::result rows =
            txn.exec_prepared(claim_statement.name, limit, outbox_retry_pause_max_s, attempts_max);
        txn.commit();
        return events_from(rows);
    });
}

asio::awaitable<Result<std::vector<OutboxEvent>>> Outbox::drop_exhausted(std::int32_t attempts_max,
                                                                         std::int64_t limit) {
    return worker().run<std::vector<OutboxEvent>>([attempts_max,
                                                   limit](pqxx::connection& connection) {
        pqxx::nontransaction command(connection);
        return events_from(command.exec_prepared(exhausted_statement.name, attempts_max, limit));
    });
}

asio::awaitable<Result<std::vector<UndeliveredEvent>>> Outbox::dead_payments(std::int64_t limit) {
    TF_ASSERT_GT(limit, 0);
    return worker().run<std::vector<UndeliveredEvent>>([limit](pqxx::connection& connection) {
        pqxx::nontransaction query(connection);
        const pqxx::result rows = query.exec_prepared(dead_payments_statement.name, limit);
        std::vector<UndeliveredEvent> letters;
        letters.reserve(rows.size());
        for (const pqxx::row& row : rows) {
            letters.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                               row[2].as<std::string>(), row[3].as<std::int64_t>()});
        }
        return letters;
    });
}

}  // namespace tigerfans::mockpay

// The waiting room's queue on PostgreSQL (queue_store.hpp): every step is one job on the
// store's database thread, and each job one statement (the admission step: one transaction),
// so each step is atomic however many server processes share the database.
//
// A join inserts its row unless one with its id exists; a sale join's key takes the next value
// of queue_sale_sequence (gaps, from failed joins, change no order). Two joins of one id at
// once meet at the primary key: the second inserts nothing and reads the first's row.
// An admission step locks the counter row first, so admission steps, in one process or
// several, run one after the other: each then reads the queue after the previous one
// committed, takes the first entries in the queue's order and numbers them from the counter,
// so no entry is admitted twice and the numbers run on without gaps. It also deletes admitted
// entries whose keep time has passed (at most as many as a step admits), which until then
// answer no status and count no ticket (a join with such an id still finds its row).
// The admission lease is one row of queue_admission: taking it is one UPDATE whose condition
// (free, run out, or the caller's) PostgreSQL checks again on the newest version after waiting
// for the row's lock, so two processes never both take it; the same row keeps the operator's
// settings (NULL until set).
// Counting a ticket is one UPDATE whose condition PostgreSQL checks again on the row's newest
// version after waiting for its lock, so concurrent calls never count past the maximum.
#include "sessions/postgres/queue_store.hpp"

#include <algorithm>
#include <cstdint>

#include "postgres/row_values.hpp"
#include "postgres/schema.hpp"
#include "postgres/sql_array.hpp"
#include "postgres/statement.hpp"
#include "postgres/worker.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::sessions {

namespace {

using queue::AdmittedEntry;
using queue::EntryState;
using queue::EntryStatus;
using queue::Phase;
using queue::QueueCounts;
using tigerfans::postgres::is_storable_text;
using tigerfans::postgres::required;
using tigerfans::postgres::SchemaStep;
using tigerfans::postgres::Statement;

constexpr std::string_view create_entries_sql = R"(
CREATE TABLE IF NOT EXISTS queue_entries (
    entry_id text PRIMARY KEY,
    key bigint NOT NULL CHECK (key >= 0 AND key < 9007199254740992),
    joined_us bigint NOT NULL,
    state smallint NOT NULL DEFAULT 0 CHECK (state IN (0, 1)),
    admitted_seq bigint,
    admitted_us bigint,
    tickets_used integer NOT NULL DEFAULT 0 CHECK (tickets_used >= 0),
    keep_until timestamptz,
    CHECK ((state = 1) = (keep_until IS NOT NULL))
))";

constexpr std::string_view create_waiting_index_sql = R"(
CREATE INDEX IF NOT EXISTS queue_entries_waiting ON queue_entries (key, entry_id COLLATE "C")
WHERE state = 0)";

constexpr std::string_view create_kept_index_sql = R"(
CREATE INDEX IF NOT EXISTS queue_entries_keep_until ON queue_entries (keep_until)
WHERE state = 1)";

// A sale join's key is the band's bit plus this sequence, which must stay below the band.
constexpr std::string_view create_sequence_sql =
    "CREATE SEQUENCE IF NOT EXISTS queue_sale_sequence MINVALUE 1 MAXVALUE 4503599627370495";

constexpr std::string_view create_counters_sql = R"(
CREATE TABLE IF NOT EXISTS queue_counters (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    admitted bigint NOT NULL DEFAULT 0,
    forgotten bigint NOT NULL DEFAULT 0
))";

constexpr std::string_view insert_counters_sql =
    "INSERT INTO queue_counters (one) VALUES (true) ON CONFLICT DO NOTHING";

constexpr std::string_view create_admission_sql = R"(
CREATE TABLE IF NOT EXISTS queue_admission (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    owner text NOT NULL DEFAULT '',
    until_us bigint NOT NULL DEFAULT 0,
    paused boolean,
    per_second integer CHECK (per_second > 0)
))";

constexpr std::string_view insert_admission_sql =
    "INSERT INTO queue_admission (one) VALUES (true) ON CONFLICT DO NOTHING";

// $1 owner, $2 now, $3 until. The outer SELECT reads the settings as they were before the
// UPDATE, which does not change them.
constexpr Statement lead_statement{"queue_lead", R"(
WITH taken AS (
    UPDATE queue_admission SET owner = $1, until_us = $3::bigint
    WHERE owner = '' OR owner = $1 OR until_us <= $2::bigint
    RETURNING 1)
SELECT (SELECT count(*) FROM taken), paused, per_second FROM queue_admission)"};

// $1 paused, $2 per_second; NULL keeps the stored value.
constexpr Statement settings_statement{"queue_settings", R"(
UPDATE queue_admission
SET paused = coalesce($1::boolean, paused), per_second = coalesce($2::integer, per_second))"};

// $1 id, $2 whether a sale join, $3 the draw key (pre-queue) or the sale band's bit, $4 now.
// Answers the entry's key: the new row's or the known one's; no row when a concurrent join of
// the same id inserted first (its row is not in this statement's snapshot).
constexpr Statement join_statement{"queue_join", R"(
WITH known AS (SELECT key FROM queue_entries WHERE entry_id = $1),
added AS (
    INSERT INTO queue_entries (entry_id, key, joined_us)
    SELECT $1, CASE WHEN $2::boolean THEN $3::bigint + nextval('queue_sale_sequence')
                    ELSE $3::bigint END, $4::bigint
    WHERE NOT EXISTS (SELECT 1 FROM known)
    ON CONFLICT (entry_id) DO NOTHING
    RETURNING key)
SELECT key FROM added UNION ALL SELECT key FROM known)"};

constexpr Statement entry_key_statement{"queue_entry_key",
                                        "SELECT key FROM queue_entries WHERE entry_id = $1"};

// `ahead` counts the waiting entries before this one in the waiting index's order.
constexpr Statement status_statement{"queue_status", R"(
SELECT e.key, e.joined_us, e.state, e.admitted_seq, e.admitted_us, e.tickets_used,
       CASE WHEN e.state = 0 THEN
           (SELECT count(*) FROM queue_entries AS w
            WHERE w.state = 0
              AND (w.key, w.entry_id COLLATE "C") < (e.key, e.entry_id COLLATE "C"))
       END
FROM queue_entries AS e
WHERE e.entry_id = $1 AND (e.state = 0 OR e.keep_until > now()))"};

constexpr Statement lock_counters_statement{"queue_lock_counters",
                                            "SELECT admitted FROM queue_counters FOR UPDATE"};

// $1 how many, $2 admissions before this step, $3 now, $4 keep_s.
constexpr Statement admit_statement{"queue_admit", R"(
WITH picked AS (
    SELECT entry_id, row_number() OVER (ORDER BY key, entry_id COLLATE "C") AS n
    FROM (SELECT entry_id, key FROM queue_entries WHERE state = 0
          ORDER BY key, entry_id COLLATE "C" LIMIT $1) AS first),
taken AS (
    UPDATE queue_entries AS e
    SET state = 1, admitted_seq = $2::bigint + picked.n, admitted_us = $3::bigint,
        tickets_used = 0, keep_until = now() + $4::bigint * interval '1 second'
    FROM picked WHERE e.entry_id = picked.entry_id
    RETURNING e.entry_id, e.admitted_seq),
counted AS (
    UPDATE queue_counters SET admitted = admitted + (SELECT count(*) FROM taken))
SELECT entry_id, admitted_seq FROM taken ORDER BY admitted_seq)"};

constexpr Statement forget_statement{"queue_forget", R"(
WITH gone AS (
    DELETE FROM queue_entries WHERE entry_id IN (
        SELECT entry_id FROM queue_entries WHERE state = 1 AND keep_until <= now()
        ORDER BY keep_until LIMIT $1)
    RETURNING 1)
UPDATE queue_counters SET forgotten = forgotten + (SELECT count(*) FROM gone))"};

constexpr Statement use_ticket_statement{"queue_use_ticket", R"(
UPDATE queue_entries SET tickets_used = tickets_used + 1
WHERE entry_id = $1 AND state = 1 AND keep_until > now() AND tickets_used < $2::integer
RETURNING tickets_used)"};

constexpr Statement return_ticket_statement{"queue_return_ticket", R"(
UPDATE queue_entries SET tickets_used = tickets_used - 1
WHERE entry_id = $1 AND state = 1 AND keep_until > now() AND tickets_used > 0)"};

constexpr Statement counts_statement{"queue_counts", R"(
SELECT (SELECT count(*) FROM queue_entries WHERE state = 0), admitted,
       forgotten + (SELECT count(*) FROM queue_entries)
FROM queue_counters)"};

void prepare_queue_statements(pqxx::connection& connection) {
    tigerfans::postgres::prepare_all(
        connection,
        {join_statement, entry_key_statement, status_statement, lock_counters_statement,
         admit_statement, forget_statement, use_ticket_statement, return_ticket_statement,
         counts_statement, lead_statement, settings_statement});
}

void create_queue_tables(pqxx::connection& connection) {
    pqxx::work txn(connection);
    tigerfans::postgres::apply_schema(
        txn, "queue",
        {SchemaStep::always(create_entries_sql),
         SchemaStep::index("queue_entries", "queue_entries_waiting", create_waiting_index_sql),
         SchemaStep::index("queue_entries", "queue_entries_keep_until", create_kept_index_sql),
         SchemaStep::always(create_sequence_sql), SchemaStep::always(create_counters_sql),
         SchemaStep::always(insert_counters_sql), SchemaStep::always(create_admission_sql),
         SchemaStep::always(insert_admission_sql)});
    txn.commit();
}

std::uint64_t stored_key(const pqxx::field& field) {
    const auto key = field.as<std::int64_t>();
    const bool valid = key >= 0 && static_cast<std::uint64_t>(key) <= queue::key_max;
    return required(valid ? std::optional<std::uint64_t>(key) : std::nullopt, "queue key");
}

std::uint64_t join_entry(pqxx::connection& connection, const std::string& entry_id, bool sale,
                         std::uint64_t base, std::int64_t now_us) {
    pqxx::nontransaction txn(connection);
    const pqxx::result joined = txn.exec_prepared(join_statement.name, entry_id, sale,
                                                  static_cast<std::int64_t>(base), now_us);
    if (!joined.empty()) return stored_key(joined[0][0]);
    return stored_key(txn.exec_prepared1(entry_key_statement.name, entry_id)[0]);
}

std::optional<EntryStatus> read_status(pqxx::connection& connection, const std::string& entry_id) {
    pqxx::nontransaction txn(connection);
    const pqxx::result rows = txn.exec_prepared(status_statement.name, entry_id);
    if (rows.empty()) return std::nullopt;
    const pqxx::row row = rows[0];
    EntryStatus status;
    status.key = stored_key(row[0]);
    status.joined_at_us = row[1].as<std::int64_t>();
    if (row[2].as<int>() == 0) {
        status.state = EntryState::waiting;
        status.ahead = row[6].as<std::uint64_t>();
        return status;
    }
    status.state = EntryState::admitted;
    status.admitted_seq = row[3].as<std::uint64_t>();
    status.admitted_at_us = row[4].as<std::int64_t>();
    status.tickets_used = row[5].as<std::uint32_t>();
    return status;
}

std::vector<AdmittedEntry> admit_entries(pqxx::connection& connection, std::uint64_t count,
                                         std::int64_t now_us, std::uint32_t keep_s) {
    pqxx::work txn(connection);
    const auto before = txn.exec_prepared1(lock_counters_statement.name)[0].as<std::int64_t>();
    const pqxx::result rows =
        txn.exec_prepared(admit_statement.name, static_cast<std::int64_t>(count), before, now_us,
                          static_cast<std::int64_t>(keep_s));
    txn.exec_prepared(forget_statement.name,
                      static_cast<std::int64_t>(limits::admission_step_entries_max));
    txn.commit();
    std::vector<AdmittedEntry> admitted;
    admitted.reserve(rows.size());
    for (const pqxx::row& row : rows) {
        admitted.push_back({row[0].as<std::string>(), row[1].as<std::uint64_t>()});
    }
    return admitted;
}

queue::AdmissionLease take_lease(pqxx::connection& connection, const std::string& owner,
                                 std::int64_t now_us, std::int64_t until_us) {
    pqxx::nontransaction txn(connection);
    const pqxx::row row = txn.exec_prepared1(lead_statement.name, owner, now_us, until_us);
    queue::AdmissionLease lease;
    lease.leading = row[0].as<std::int64_t>() == 1;
    if (!row[1].is_null()) lease.settings.paused = row[1].as<bool>();
    if (!row[2].is_null()) {
        const auto per_second = row[2].as<std::int64_t>();
        if (per_second >= 1) {
            // A rate above today's most (an earlier release allowed more) runs at the most.
            lease.settings.per_second = static_cast<std::uint32_t>(
                std::min<std::int64_t>(per_second, limits::admit_per_second_max));
        }
    }
    return lease;
}

class PostgresQueueStore final : public queue::QueueStore {
public:
    PostgresQueueStore(asio::any_io_executor loop, std::string database_url)
        : worker_(std::move(loop), std::move(database_url), "queue", prepare_queue_statements) {}

    std::string_view backend_name() const override { return "PostgreSQL"; }

    asio::awaitable<Status> start() override {
        co_return co_await worker_.run<Done>([](pqxx::connection& connection) {
            create_queue_tables(connection);
            return Done{};
        });
    }

    asio::awaitable<Result<std::uint64_t>> join(std::string_view entry_id, Phase phase,
                                                std::uint64_t draw_key,
                                                std::int64_t now_us) override {
        TF_ASSERT(!entry_id.empty());
        TF_ASSERT(phase != Phase::not_open);
        TF_ASSERT(phase == Phase::sale || draw_key <= queue::key_value_max);
        if (stopped_) co_return Fault::shutting_down;
        if (!is_storable_text(entry_id)) co_return Fault::internal;
        const bool sale = phase == Phase::sale;
        const std::uint64_t base = sale ? queue::sale_band_bit : draw_key;
        auto job = [id = std::string(entry_id), sale, base, now_us](pqxx::connection& connection) {
            return join_entry(connection, id, sale, base, now_us);
        };
        co_return co_await worker_.run<std::uint64_t>(std::move(job));
    }

    asio::awaitable<Result<std::optional<EntryStatus>>> status(std::string_view entry_id) override {
        if (stopped_) co_return Fault::shutting_down;
        if (!is_storable_text(entry_id)) co_return std::optional<EntryStatus>();
        auto job = [id = std::string(entry_id)](pqxx::connection& connection) {
            return read_status(connection, id);
        };
        co_return co_await worker_.run<std::optional<EntryStatus>>(std::move(job));
    }

    asio::awaitable<Result<std::vector<AdmittedEntry>>> admit(std::uint64_t count,
                                                              std::int64_t now_us,
                                                              std::uint32_t keep_s) override {
        TF_ASSERT(keep_s > 0);
        if (stopped_) co_return Fault::shutting_down;
        if (count == 0) co_return std::vector<AdmittedEntry>();
        // LIMIT takes a signed 64-bit integer: no queue is longer anyway.
        const std::uint64_t wanted = std::min<std::uint64_t>(count, INT64_MAX);
        co_return co_await worker_.run<std::vector<AdmittedEntry>>(
            [wanted, now_us, keep_s](pqxx::connection& connection) {
                return admit_entries(connection, wanted, now_us, keep_s);
            });
    }

    asio::awaitable<Result<bool>> use_ticket(std::string_view entry_id,
                                             std::uint32_t tickets_max) override {
        if (stopped_) co_return Fault::shutting_down;
        if (!is_storable_text(entry_id)) co_return false;
        auto job = [id = std::string(entry_id), tickets_max](pqxx::connection& connection) {
            pqxx::nontransaction txn(connection);
            const auto max = static_cast<std::int64_t>(tickets_max);
            return !txn.exec_prepared(use_ticket_statement.name, id, max).empty();
        };
        co_return co_await worker_.run<bool>(std::move(job));
    }

    asio::awaitable<Status> return_ticket(std::string_view entry_id) override {
        if (stopped_) co_return Fault::shutting_down;
        if (!is_storable_text(entry_id)) co_return done();
        auto job = [id = std::string(entry_id)](pqxx::connection& connection) {
            pqxx::nontransaction txn(connection);
            txn.exec_prepared(return_ticket_statement.name, id);
            return Done{};
        };
        co_return co_await worker_.run<Done>(std::move(job));
    }

    asio::awaitable<Result<QueueCounts>> counts() override {
        if (stopped_) co_return Fault::shutting_down;
        co_return co_await worker_.run<QueueCounts>([](pqxx::connection& connection) {
            pqxx::nontransaction txn(connection);
            const pqxx::row row = txn.exec_prepared1(counts_statement.name);
            return QueueCounts{row[0].as<std::uint64_t>(), row[1].as<std::uint64_t>(),
                               row[2].as<std::uint64_t>()};
        });
    }

    asio::awaitable<Result<queue::AdmissionLease>> lead(std::string_view owner, std::int64_t now_us,
                                                        std::int64_t until_us) override {
        TF_ASSERT(!owner.empty());
        TF_ASSERT(until_us > now_us);
        if (stopped_) co_return Fault::shutting_down;
        if (!is_storable_text(owner)) co_return Fault::internal;
        auto job = [owner = std::string(owner), now_us, until_us](pqxx::connection& connection) {
            return take_lease(connection, owner, now_us, until_us);
        };
        co_return co_await worker_.run<queue::AdmissionLease>(std::move(job));
    }

    asio::awaitable<Status> set_settings(queue::AdmissionSettings changed) override {
        TF_ASSERT(!changed.per_second || *changed.per_second > 0);
        if (stopped_) co_return Fault::shutting_down;
        auto job = [changed](pqxx::connection& connection) {
            pqxx::nontransaction txn(connection);
            // libpqxx 6 sends a null const char* as NULL: the value the store keeps.
            const char* paused = nullptr;
            if (changed.paused) paused = *changed.paused ? "true" : "false";
            const std::string rate =
                changed.per_second ? std::to_string(*changed.per_second) : std::string();
            txn.exec_prepared(settings_statement.name, paused,
                              changed.per_second ? rate.c_str() : nullptr);
            return Done{};
        };
        co_return co_await worker_.run<Done>(std::move(job));
    }

    asio::awaitable<bool> healthy() override { co_return co_await worker_.ping(); }

    // Jobs run in turn, so an empty one finishes after every call made before it.
    asio::awaitable<void> stop() override {
        stopped_ = true;
        const Status drained = co_await worker_.run<Done>([](pqxx::connection&) { return Done{}; });
        static_cast<void>(drained);
    }

private:
    tigerfans::postgres::Worker worker_;
    bool stopped_ = false;
};

}  // namespace

std::unique_ptr<queue::QueueStore> make_postgres_queue_store(boost::asio::any_io_executor loop,
                                                             std::string database_url,
                                                             metrics::Registry& registry) {
    static_cast<void>(registry);
    return std::make_unique<PostgresQueueStore>(std::move(loop), std::move(database_url));
}

}  // namespace tigerfans::sessions

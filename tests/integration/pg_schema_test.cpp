// Start-up DDL (postgres/schema.hpp): a start adds what is missing and, when nothing is, takes
// no lock that would wait for a running server's open writes. Each test holds such a write open
// on a second connection while the schema is applied under a short lock_timeout, so a step that
// locks the table fails instead of waiting.
#include <chrono>
#include <pqxx/pqxx>
#include <string>

#include "pg_test_helpers.hpp"
#include "postgres/schema.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::postgres {
namespace {

constexpr std::string_view create_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_things (id bigint PRIMARY KEY, note text NOT NULL)";
constexpr std::string_view create_index_sql =
    "CREATE INDEX IF NOT EXISTS schema_things_note ON schema_things (note)";
constexpr std::string_view add_column_sql =
    "ALTER TABLE schema_things ADD COLUMN IF NOT EXISTS color text NOT NULL DEFAULT 'red'";

class PgSchemaTest : public testing::PgTest {
protected:
    // Applies the test's schema on a connection of its own, failing after `lock_timeout_ms` of
    // waiting for any lock.
    void apply(int lock_timeout_ms = 1000, const std::string& search_path = "public") {
        pqxx::connection connection(database_url_);
        pqxx::work txn(connection);
        txn.exec("SET LOCAL lock_timeout = " + std::to_string(lock_timeout_ms));
        txn.exec("SET LOCAL search_path = " + search_path);
        apply_schema(txn, "schema_test",
                     {SchemaStep::always(create_table_sql),
                      SchemaStep::column("schema_things", "color", add_column_sql),
                      SchemaStep::index("schema_things", "schema_things_note", create_index_sql)});
        txn.commit();
    }

    bool has_column(const std::string& column) {
        return query_value<bool>(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = "
            "'schema_things' AND column_name = $1)",
            column);
    }

    bool has_index() {
        return query_value<bool>("SELECT to_regclass('schema_things_note') IS NOT NULL");
    }
};

TEST_F(PgSchemaTest, AFirstStartMakesTheTableItsColumnAndItsIndex) {
    apply();
    EXPECT_TRUE(has_column("color"));
    EXPECT_TRUE(has_index());
}

TEST_F(PgSchemaTest, AStartAddsAColumnAndAnIndexThatAnOlderTableLacks) {
    apply();
    {
        pqxx::connection connection(database_url_);
        pqxx::work txn(connection);
        txn.exec("INSERT INTO schema_things (id, note) VALUES (1, 'kept')");
        txn.exec("DROP INDEX schema_things_note");
        txn.exec("ALTER TABLE schema_things DROP COLUMN color");
        txn.commit();
    }
    ASSERT_FALSE(has_column("color"));
    apply();
    EXPECT_TRUE(has_column("color"));
    EXPECT_TRUE(has_index());
    EXPECT_EQ(
        query_value<std::string>("SELECT note || ' ' || color FROM schema_things WHERE id = 1"),
        "kept red");
}

// An index is the table's own: one of the same name on a table in another schema of the
// search path does not stand in for it.
TEST_F(PgSchemaTest, AnIndexOnAnotherSchemasTableOfTheSameNameDoesNotCount) {
    apply();
    {
        pqxx::connection connection(database_url_);
        pqxx::nontransaction command(connection);
        command.exec("CREATE SCHEMA fresh");
    }
    apply(1000, "fresh, public");
    EXPECT_TRUE(query_value<bool>("SELECT to_regclass('fresh.schema_things_note') IS NOT NULL"));
    EXPECT_TRUE(query_value<bool>(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'fresh' "
        "AND table_name = 'schema_things' AND column_name = 'color')"));
}

// A server's connections run every statement under a timeout; an index built on a big table
// at a start must not fail at every start under it. The table's lock is waited for no longer
// than a statement may run.
TEST_F(PgSchemaTest, AStepRunsPastTheConnectionsStatementTimeout) {
    apply();
    {
        pqxx::connection connection(database_url_);
        pqxx::work txn(connection);
        txn.exec("DROP INDEX schema_things_note");
        txn.exec(
            "INSERT INTO schema_things (id, note) SELECT i, md5(i::text) "
            "FROM generate_series(1, 300000) AS i");
        txn.commit();
    }
    pqxx::connection connection(database_url_);
    connection.set_variable("statement_timeout", "20");
    pqxx::work txn(connection);
    // What the build below takes, measured under no timeout and undone.
    txn.exec("SAVEPOINT measure");
    const auto started = std::chrono::steady_clock::now();
    txn.exec("SET LOCAL statement_timeout = 0");
    txn.exec(std::string(create_index_sql));
    const auto took = std::chrono::steady_clock::now() - started;
    txn.exec("ROLLBACK TO SAVEPOINT measure");
    ASSERT_GT(took, std::chrono::milliseconds(20)) << "the table is too small to test the timeout";
    ASSERT_EQ(txn.exec1("SHOW statement_timeout")[0].as<std::string>(), "20ms");
    apply_schema(txn, "schema_test",
                 {SchemaStep::index("schema_things", "schema_things_note", create_index_sql)});
    EXPECT_EQ(txn.exec1("SHOW lock_timeout")[0].as<std::string>(),
              std::to_string(limits::pg_statement_timeout_ms / 1000) + "s");
    txn.commit();
    EXPECT_TRUE(has_index());
}

TEST_F(PgSchemaTest, AStartWithNothingToAddDoesNotWaitForAnOpenWrite) {
    apply();
    pqxx::connection writer(database_url_);
    pqxx::work open_write(writer);
    open_write.exec("INSERT INTO schema_things (id, note) VALUES (2, 'open')");
    // ALTER TABLE or CREATE INDEX on the table would wait for the write and time out here.
    EXPECT_NO_THROW(apply());
    open_write.commit();
    EXPECT_EQ(query_value<std::int64_t>("SELECT count(*) FROM schema_things"), 1);
}

// What the test above relies on: a step that does lock the table does wait for the write.
TEST_F(PgSchemaTest, AStartWithAColumnToAddWaitsForAnOpenWrite) {
    apply();
    {
        pqxx::connection connection(database_url_);
        pqxx::nontransaction command(connection);
        command.exec("ALTER TABLE schema_things DROP COLUMN color");
    }
    pqxx::connection writer(database_url_);
    pqxx::work open_write(writer);
    open_write.exec("INSERT INTO schema_things (id, note) VALUES (3, 'open')");
    EXPECT_THROW(apply(200), pqxx::sql_error);
    open_write.commit();
    apply();
    EXPECT_TRUE(has_column("color"));
}

}  // namespace
}  // namespace tigerfans::postgres

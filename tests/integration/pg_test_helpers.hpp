// What the PostgreSQL store tests share: a loop, a metrics registry and a fresh database per
// test, and a way to start many calls at once so that they meet in the stores' batchers.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "support/postgres_cluster.hpp"
#include "support/process.hpp"
#include "support/run_async.hpp"
#include "tigerfans/metrics/metrics.hpp"

namespace tigerfans::testing {

namespace asio = boost::asio;

// Sizes of the load-like tests: small by default so the suite stays fast, larger on demand
// (e.g. TIGERFANS_PG_TEST_OPS=100000) to measure.
inline std::size_t test_ops(std::size_t default_ops) {
    const char* text = std::getenv("TIGERFANS_PG_TEST_OPS");
    return text == nullptr ? default_ops : std::stoul(text);
}

class PgTest : public ::testing::Test {
protected:
    // Runs one coroutine to completion on the test's loop.
    template <typename MakeAwaitable>
    auto run(MakeAwaitable make) {
        return run_async(io_, make);
    }

    // Starts make(0) .. make(count - 1) together and returns their results by index once all
    // finished: the calls overlap, so the stores see them as concurrent.
    template <typename T, typename Make>
    std::vector<T> run_concurrently(std::size_t count, Make make) {
        std::vector<std::optional<T>> results(count);
        std::size_t finished = 0;
        for (std::size_t i = 0; i < count; i++) {
            asio::co_spawn(io_, make(i),
                           [&results, &finished, i](std::exception_ptr error, T value) {
                               if (error) std::rethrow_exception(error);
                               results[i].emplace(std::move(value));
                               finished++;
                           });
        }
        io_.restart();
        while (finished < count && io_.run_one() > 0) {
        }
        std::vector<T> values;
        for (auto& result : results) values.push_back(std::move(result.value()));
        return values;
    }

    // Waits until the one-value query `sql` answers true on the test's database; false when it
    // has not within 5 s. The tests wait this way for a stored expiry to pass by the database's
    // own clock: the query only reads, so no store sweeps what the test then looks at.
    bool wait_until_database(const std::string& sql) {
        pqxx::connection connection(database_url_);
        return wait_until(
            [&] {
                pqxx::nontransaction query(connection);
                return query.exec1(sql)[0].as<bool>();
            },
            std::chrono::seconds(5));
    }

    // The one value `sql` answers, given `params`, on a connection of the test's own.
    template <typename T, typename... Params>
    T query_value(const std::string& sql, const Params&... params) {
        pqxx::connection connection(database_url_);
        pqxx::nontransaction query(connection);
        return query.exec_params1(sql, params...)[0].template as<T>();
    }

    const metrics::Histogram* batch_sizes(std::string_view store) const {
        return registry_.find_histogram("tigerfans_pg_batch_items",
                                        "store=\"" + std::string(store) + "\"");
    }

    asio::io_context io_;
    metrics::Registry registry_;
    std::string database_url_ = PostgresCluster::shared().create_database();
};

}  // namespace tigerfans::testing

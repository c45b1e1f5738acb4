// The three comparison levels as a test parameter: every end-to-end test runs on
// pg/pg (level 1), pg/redis (level 2) and tb/redis (level 3, when a TigerBeetle server binary
// is available through TIGERBEETLE_BIN; otherwise those tests say they were skipped and why).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.hpp"
#include "support/test_server.hpp"

namespace tigerfans::testing {

struct Level {
    std::string name;        // "pg_pg", "pg_redis", "tb_redis"
    std::string accounting;  // ACCT_BACKEND
    std::string sessions;    // PAYSESSION_BACKEND
};

std::vector<Level> all_levels();
inline void PrintTo(const Level& level, std::ostream* out) { *out << level.name; }
std::string level_name(const ::testing::TestParamInfo<Level>& info);

class TigerBeetleServer;  // tests/support/tigerbeetle_server.hpp

class LevelTest : public ::testing::TestWithParam<Level> {
protected:
    LevelTest();
    ~LevelTest() override;
    void SetUp() override;

    // Starts the stores this level needs and the server with test secrets plus `overrides`.
    // Skips the test (with the reason) when the level cannot run on this machine.
    void start_server(const std::map<std::string, std::string>& overrides = {});
    // Stops the server and starts a new one on the same stores (a restart), with `overrides`
    // on top of the first start's settings.
    void restart_server(const std::map<std::string, std::string>& overrides = {});
    std::string database_url() const { return env_.at("DATABASE_URL"); }
    HttpDriver& driver() { return *driver_; }
    TestServer& server() { return *server_; }
    RedisServer* redis() { return redis_.get(); }

    static boost::asio::awaitable<Reply> checkout_call(http::Client& client, std::string cls,
                                                       std::string email);
    static boost::asio::awaitable<Reply> emit_call(http::Client& client, std::string psid,
                                                   std::string outcome);
    static http::Headers admin_basic(const std::string& password = "test-password");

private:
    std::map<std::string, std::string> env_;  // The first start's settings.
    std::unique_ptr<RedisServer> redis_;
    std::unique_ptr<TigerBeetleServer> tigerbeetle_;
    std::unique_ptr<TestServer> server_;
    std::unique_ptr<HttpDriver> driver_;
};

}  // namespace tigerfans::testing

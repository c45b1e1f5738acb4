// The level fixture: real stores per test, the server on top, an HTTP driver in front.
#include "support/levels.hpp"

#include <nlohmann/json.hpp>

#include "support/postgres_cluster.hpp"
#include "support/tigerbeetle_server.hpp"
#include "tigerfans/core/crypto.hpp"

namespace tigerfans::testing {

namespace asio = boost::asio;

std::vector<Level> all_levels() {
    return {{"pg_pg", "pg", "pg"}, {"pg_redis", "pg", "redis"}, {"tb_redis", "tb", "redis"}};
}

std::string level_name(const ::testing::TestParamInfo<Level>& info) { return info.param.name; }

LevelTest::LevelTest() = default;

void LevelTest::SetUp() {
    // Skipping here (not in start_server) keeps the test body from running at all.
    if (GetParam().accounting == "tb" && tigerbeetle_binary().empty()) {
        note_skipped_without_tigerbeetle();
        GTEST_SKIP() << "level 3 skipped: no TigerBeetle server binary (set TIGERBEETLE_BIN to a "
                        "tigerbeetle 0.17.8 executable to run it)";
    }
}

LevelTest::~LevelTest() {
    // The server goes first: it talks to the stores until it has drained.
    driver_.reset();
    server_.reset();
    tigerbeetle_.reset();
    redis_.reset();
}

void LevelTest::start_server(const std::map<std::string, std::string>& overrides) {
    const Level& level = GetParam();
    std::map<std::string, std::string> env = {
        {"ACCT_BACKEND", level.accounting},
        {"PAYSESSION_BACKEND", level.sessions},
        {"DATABASE_URL", PostgresCluster::shared().create_database()},
        {"MOCK_SECRET", "test-secret"},
        {"ADMIN_PASSWORD", "test-password"},
        {"SESSION_SECRET", "test-session-secret"},
        {"TB_CLIENT_LIB", tb_client_library_path()},
    };
    if (level.sessions == "redis") {
        redis_ = std::make_unique<RedisServer>();
        env["REDIS_URL"] = redis_->unix_url();
    }
    if (level.accounting == "tb") {
        tigerbeetle_ = std::make_unique<TigerBeetleServer>(tigerbeetle_binary());
        env["TB_ADDRESS"] = tigerbeetle_->address();
    }
    env_ = env;
    for (const auto& [name, value] : overrides) env[name] = value;
    server_ = std::make_unique<TestServer>(test_config(env));
    driver_ = std::make_unique<HttpDriver>(server_->port());
}

void LevelTest::restart_server(const std::map<std::string, std::string>& overrides) {
    ASSERT_TRUE(server_) << "restart_server before start_server";
    driver_.reset();
    server_.reset();
    std::map<std::string, std::string> env = env_;
    for (const auto& [name, value] : overrides) env[name] = value;
    server_ = std::make_unique<TestServer>(test_config(env));
    driver_ = std::make_unique<HttpDriver>(server_->port());
}

asio::awaitable<Reply> LevelTest::checkout_call(http::Client& client, std::string cls,
                                                std::string email) {
    std::string body = nlohmann::json{{"cls", cls}, {"customer_email", email}}.dump();
    http::Headers headers = {{"Content-Type", "application/json"}};
    co_return to_reply(co_await client.request(http::Method::post, "/api/checkout", std::move(body),
                                               std::move(headers)));
}

asio::awaitable<Reply> LevelTest::emit_call(http::Client& client, std::string psid,
                                            std::string outcome) {
    http::Headers headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    co_return to_reply(co_await client.request(http::Method::post, "/mockpay/" + psid + "/emit",
                                               "t=" + outcome, std::move(headers)));
}

http::Headers LevelTest::admin_basic(const std::string& password) {
    return {{"Authorization", "Basic " + base64_encode("admin:" + password)}};
}

}  // namespace tigerfans::testing

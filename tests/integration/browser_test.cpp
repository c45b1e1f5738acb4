// The browser journeys (tests/browser/journeys.mjs) in Debian's headless Chromium against three
// real servers: one for the fan's and the admin's journeys (with the small hall's seats on
// sale too), one with a single ticket per class to show "sold out", and one with the waiting
// room on whose sale opens a few seconds after it starts, so that a fan joins the pre-queue,
// waits and is admitted. Screenshots of each journey's last page land in <build>/screenshots/.
// Node, playwright-core (tests/browser/node_modules) and Chromium are installed by `make setup`;
// when one is missing this test fails and says which.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/postgres_cluster.hpp"
#include "support/process.hpp"
#include "support/test_server.hpp"

#ifndef TIGERFANS_BINARY_DIR
#define TIGERFANS_BINARY_DIR "."
#endif

namespace tigerfans::testing {
namespace {

const std::string browser_dir = TIGERFANS_SOURCE_DIR "/tests/browser";

std::unique_ptr<TestServer> page_server(const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> env = {
        {"ACCT_BACKEND", "pg"},
        {"PAYSESSION_BACKEND", "pg"},
        {"DATABASE_URL", PostgresCluster::shared().create_database()},
        {"ADMIN_PASSWORD", "browser-password"},
    };
    for (const auto& [name, value] : extra) env[name] = value;
    return std::make_unique<TestServer>(test_config(env));
}

// The waiting-room server's sale opens this long after the test starts it: time for node and
// Chromium to start and for the fan to join the pre-queue, but not much more.
constexpr std::chrono::seconds sale_opens_after{15};

// A time `after` from now as SALE_OPENS_AT takes it: 2026-12-02T18:00:00Z.
std::string utc_in(std::chrono::seconds after) {
    const std::time_t at =
        std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + after);
    std::tm fields{};
    gmtime_r(&at, &fields);
    char text[32];
    const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &fields);
    return std::string(text, length);
}

std::string read_all(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

TEST(Browser, FanAndAdminJourneysPassInHeadlessChromium) {
    const std::string node = find_program("node");
    ASSERT_FALSE(node.empty()) << "node not found: run `make setup`";
    ASSERT_TRUE(std::filesystem::exists(browser_dir + "/node_modules/playwright-core"))
        << "playwright-core missing: run `make setup` (npm ci in tests/browser)";
    const std::string chromium = find_program("chromium", {"/usr/bin/chromium"});
    ASSERT_FALSE(chromium.empty()) << "chromium not found: run `make setup`";

    const auto server = page_server({{"VENUE", "hall"}});
    const auto sold_out = page_server({{"CAPACITY_A", "1"}, {"CAPACITY_B", "1"}});
    // Started last: its journey runs first, before the sale opens.
    const auto queue = page_server({{"WAITING_ROOM", "on"},
                                    {"SALE_OPENS_AT", utc_in(sale_opens_after)},
                                    {"PREQUEUE_MINUTES", "30"},
                                    {"ADMIT_PER_SECOND", "3"}});
    const std::string shots = std::string(TIGERFANS_BINARY_DIR) + "/screenshots";
    const std::string log = shots + "/journeys.log";
    std::filesystem::create_directories(shots);
    std::filesystem::remove(log);
    const int status =
        run_command({node, browser_dir + "/journeys.mjs", "--base",
                     "http://127.0.0.1:" + std::to_string(server->port()), "--soldout-base",
                     "http://127.0.0.1:" + std::to_string(sold_out->port()), "--queue-base",
                     "http://127.0.0.1:" + std::to_string(queue->port()), "--screenshots", shots,
                     "--admin-password", "browser-password"},
                    log);
    const std::string output = read_all(log);
    std::printf("%s", output.c_str());
    EXPECT_EQ(status, 0) << "journeys failed; screenshots in " << shots;
    EXPECT_NE(output.find(" 0 failed"), std::string::npos);
}

}  // namespace
}  // namespace tigerfans::testing

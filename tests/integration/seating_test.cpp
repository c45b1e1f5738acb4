// Reserved seating over HTTP: with VENUE set the server serves the venue's layout with every
// seat id explicit, and a browser holding its ETag gets 304; without VENUE the route says that
// seating is off; a broken venue file stops the start instead of serving a wrong map.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/levels.hpp"
#include "tigerfans/http/gzip.hpp"

namespace tigerfans::testing {
namespace {

using nlohmann::json;

class SeatingTest : public LevelTest {};

TEST_P(SeatingTest, TheVenueLayoutIsServedWithAnETag) {
    start_server({{"VENUE", "hall"}});
    const Reply reply = driver().get("/api/venue");
    ASSERT_EQ(reply.status, 200u) << reply.body;
    const json layout = json::parse(reply.body, nullptr, false);
    EXPECT_EQ(layout.value("id", ""), "hall");
    EXPECT_EQ(layout.value("seats", 0), 502);
    ASSERT_EQ(layout["sections"].size(), 2u);
    const json& balcony_first_row = layout["sections"][1]["rows"][0];
    EXPECT_EQ(balcony_first_row.value("first_seat", 0), 16 * 22);
    EXPECT_EQ(balcony_first_row.value("category", ""), "balcony");
    const std::string etag(reply.header("ETag"));
    ASSERT_FALSE(etag.empty());
    const Reply again = driver().get("/api/venue", {{"If-None-Match", etag}});
    EXPECT_EQ(again.status, 304u);
    EXPECT_TRUE(again.body.empty());
    EXPECT_EQ(driver().get("/api/venue", {{"If-None-Match", "\"other\""}}).status, 200u);
}

TEST_P(SeatingTest, TheSeatMapIsReadFromTheLedgerAndServedWithAnETag) {
    start_server({{"VENUE", "hall"}});
    const Reply reply = driver().get("/api/seats");
    ASSERT_EQ(reply.status, 200u) << reply.body;
    const json map = json::parse(reply.body, nullptr, false);
    EXPECT_EQ(map.value("venue", ""), "hall");
    EXPECT_EQ(map.value("seats", 0), 502);
    EXPECT_EQ(map.value("free", 0), 502);
    EXPECT_EQ(map.value("held", -1), 0);
    EXPECT_EQ(map.value("sold", -1), 0);
    // 502 seats at two bits each: 126 bytes, 168 characters of base64.
    EXPECT_EQ(map.value("states", "").size(), 168u);
    const std::string etag(reply.header("ETag"));
    ASSERT_FALSE(etag.empty());
    EXPECT_EQ(map.value("etag", ""), etag);
    EXPECT_EQ(driver().get("/api/seats", {{"If-None-Match", etag}}).status, 304u);
}

// A reader that accepts gzip gets the same body compressed, under the plain body's tag made
// weak; a tag of either form answers 304 to either reader.
TEST_P(SeatingTest, TheMapAndLayoutGoCompressedToReadersThatAcceptGzip) {
    start_server({{"VENUE", "hall"}});
    for (const char* path : {"/api/seats", "/api/venue"}) {
        const Reply plain = driver().get(path);
        ASSERT_EQ(plain.status, 200u) << path << plain.body;
        EXPECT_TRUE(plain.header("Content-Encoding").empty()) << path;
        EXPECT_EQ(plain.header("Vary"), "Accept-Encoding") << path;
        const std::string etag(plain.header("ETag"));
        ASSERT_TRUE(etag.starts_with('"')) << path << etag;

        const Reply packed = driver().get(path, {{"Accept-Encoding", "gzip, deflate, br"}});
        ASSERT_EQ(packed.status, 200u) << path;
        EXPECT_EQ(packed.header("Content-Encoding"), "gzip") << path;
        EXPECT_EQ(packed.header("Vary"), "Accept-Encoding") << path;
        EXPECT_EQ(packed.header("ETag"), "W/" + etag) << path;
        EXPECT_LT(packed.body.size(), plain.body.size()) << path;
        EXPECT_EQ(http::gunzip(packed.body, plain.body.size()), plain.body) << path;

        const Reply refused = driver().get(path, {{"Accept-Encoding", "gzip;q=0, identity"}});
        EXPECT_TRUE(refused.header("Content-Encoding").empty()) << path;
        EXPECT_EQ(refused.body, plain.body) << path;

        const Reply weak_tag_plain = driver().get(path, {{"If-None-Match", "W/" + etag}});
        EXPECT_EQ(weak_tag_plain.status, 304u) << path;
        const Reply strong_tag_packed =
            driver().get(path, {{"If-None-Match", etag}, {"Accept-Encoding", "gzip"}});
        EXPECT_EQ(strong_tag_packed.status, 304u) << path;
        EXPECT_TRUE(strong_tag_packed.body.empty()) << path;
        EXPECT_TRUE(strong_tag_packed.header("Content-Encoding").empty()) << path;
        EXPECT_EQ(strong_tag_packed.header("ETag"), "W/" + etag) << path;
    }
}

TEST_P(SeatingTest, WithoutAVenueSeatingIsOff) {
    start_server();
    for (const char* path : {"/api/venue", "/api/seats"}) {
        const Reply reply = driver().get(path);
        EXPECT_EQ(reply.status, 404u) << path;
        EXPECT_EQ(json::parse(reply.body, nullptr, false).value("error", ""), "seating_off");
    }
}

TEST_P(SeatingTest, ABrokenVenueFileStopsTheStart) {
    const std::string path = ::testing::TempDir() + "/broken-venue.json";
    std::ofstream(path) << R"({"id": "broken", "name": "Broken", "stage": {"x": 0, "y": 0},
        "categories": [], "sections": []})";
    EXPECT_ANY_THROW(start_server({{"VENUE", path}}));
    std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Levels, SeatingTest, ::testing::ValuesIn(all_levels()), level_name);

}  // namespace
}  // namespace tigerfans::testing

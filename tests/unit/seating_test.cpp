// Venues and seat states: the shipped venue files load with the seat counts they promise; a
// broken file is refused with every mistake named by its place; seat ids map to rows and
// labels; the packed states keep each seat's two bits apart; best-available takes the nearest
// row's run of free seats, never splits a group, and says so when no row can seat it; the seat
// map reads the ledger once for any number of readers and once per refresh interval at most,
// and by itself for a while after its last reader.
// GCC 12 warns that the snapshot's shared_ptr "may be used uninitialized" where Asio moves the
// Result<SnapshotPtr> out of a coroutine's completion handler: a known false positive of its
// variant analysis at -O2, which -Werror would turn into a build failure.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "support/run_async.hpp"
#include "tigerfans/accounting/seat_ledger.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/seating/availability.hpp"
#include "tigerfans/seating/recent_holds.hpp"
#include "tigerfans/seating/seat_list.hpp"
#include "tigerfans/seating/seat_map.hpp"
#include "tigerfans/seating/venue.hpp"

#ifndef TIGERFANS_SOURCE_DIR
#define TIGERFANS_SOURCE_DIR "."
#endif

namespace tigerfans::seating {
namespace {

// Two sections: "front" (rows A and B of 6, the stage at y 0) and "back" (one row of 4).
constexpr const char* small_venue = R"({
  "id": "test", "name": "Test Hall", "stage": {"x": 50, "y": 0},
  "categories": [{"id": "near", "name": "Near", "price_cents": 100},
                 {"id": "far", "name": "Far", "price_cents": 50}],
  "sections": [
    {"id": "front", "name": "Front", "rows": [
      {"label": "A", "category": "near", "seats": 6, "x": 0, "y": 10, "dx": 20, "dy": 0},
      {"label": "B", "category": "near", "seats": 6, "x": 0, "y": 30, "dx": 20, "dy": 0}]},
    {"id": "back", "name": "Back", "rows": [
      {"label": "C", "category": "far", "seats": 4, "x": 10, "y": 60, "dx": 20, "dy": 0,
       "first_number": 101}]}]
})";

Venue parsed(std::string_view text) {
    auto result = parse_venue(text);
    if (auto* errors = std::get_if<VenueErrors>(&result)) {
        ADD_FAILURE() << "venue refused: " << errors->lines.front();
        return {};
    }
    return std::get<Venue>(std::move(result));
}

std::vector<std::string> errors_of(std::string_view text) {
    auto result = parse_venue(text);
    if (std::holds_alternative<Venue>(result)) return {};
    return std::get<VenueErrors>(result).lines;
}

bool has_line(const std::vector<std::string>& lines, std::string_view wanted) {
    return std::ranges::any_of(lines, [&](const std::string& line) { return line == wanted; });
}

TEST(VenueTest, ShippedVenuesLoadWithTheirSeatCounts) {
    for (const auto& [file, seats] : {std::pair{"hall", 502u}, std::pair{"stadium", 49'400u}}) {
        auto result =
            load_venue(std::string(TIGERFANS_SOURCE_DIR) + "/web/venues/" + file + ".json");
        ASSERT_TRUE(std::holds_alternative<Venue>(result))
            << std::get<VenueErrors>(result).lines.front();
        const Venue& venue = std::get<Venue>(result);
        EXPECT_EQ(venue.id, file);
        EXPECT_EQ(venue.seat_count, seats);
        EXPECT_EQ(venue.digest.size(), 64u);
    }
}

TEST(VenueTest, SeatIdsFollowTheFileSectionByRowBySeat) {
    const Venue venue = parsed(small_venue);
    ASSERT_EQ(venue.seat_count, 16u);
    EXPECT_EQ(venue.seat_label(0), "front A-1");
    EXPECT_EQ(venue.seat_label(5), "front A-6");
    EXPECT_EQ(venue.seat_label(6), "front B-1");
    EXPECT_EQ(venue.seat_label(12), "back C-101");
    EXPECT_EQ(venue.seat_label(15), "back C-104");
    EXPECT_EQ(venue.place(13).row, 2u);
    EXPECT_EQ(venue.place(13).offset, 1u);
    EXPECT_EQ(venue.sections[1].first_row, 2u);
    EXPECT_EQ(venue.category_index("far"), 1u);
    EXPECT_EQ(venue.category_index("none"), 2u);
}

TEST(VenueTest, ABrokenFileNamesEveryMistakeByItsPlace) {
    const auto lines = errors_of(R"({
      "id": "Bad Id", "stage": {"x": "left", "y": 0},
      "categories": [{"id": "a", "name": "A", "price_cents": 1},
                     {"id": "a", "name": "A again", "price_cents": -5}],
      "sections": [{"id": "s", "name": "S", "rows": [
          {"label": "1", "category": "zzz", "seats": 0, "x": 0, "y": 0, "dx": 1, "dy": 0},
          {"label": "1", "category": "a", "seats": 3, "x": 0, "y": 0, "dx": 0, "dy": 0}]},
        {"id": "s", "name": "S2", "rows": [
          {"label": "1", "category": "a", "seats": 2, "x": 0, "y": 0, "dx": 1, "dy": 0}]}]
    })");
    EXPECT_TRUE(has_line(lines, "venue.id: may hold only a-z, 0-9, '-' and '_'"));
    EXPECT_TRUE(has_line(lines, "venue.name: is required"));
    EXPECT_TRUE(has_line(lines, "stage.x: must be a number from -1e6 to 1e6"));
    EXPECT_TRUE(has_line(lines, "categories[1].id: 'a' appears twice"));
    EXPECT_TRUE(
        has_line(lines, "categories[1].price_cents: must be an integer from 0 to 100000000"));
    // The categories have mistakes, so the rows' references to them are not judged.
    EXPECT_FALSE(
        has_line(lines, "sections[0].rows[0].category: 'zzz' is not one of the categories"));
    EXPECT_TRUE(has_line(lines, "sections[0].rows[0].seats: must be an integer from 1 to 1000"));
    EXPECT_TRUE(has_line(lines, "sections[0].rows[1].label: '1' appears twice in its section"));
    EXPECT_TRUE(has_line(
        lines, "sections[0].rows[1]: dx and dy are both 0: its seats would lie on one point"));
    EXPECT_TRUE(has_line(lines, "sections[1].id: 's' appears twice"));
    EXPECT_EQ(lines.size(), 9u);
}

TEST(VenueTest, ARowNamesOnlyACategoryTheVenueLists) {
    const auto lines = errors_of(R"({"id": "v", "name": "V", "stage": {"x": 0, "y": 0},
        "categories": [{"id": "a", "name": "A", "price_cents": 1}],
        "sections": [{"id": "s", "name": "S", "rows": [
          {"label": "1", "category": "zzz", "seats": 2, "x": 0, "y": 0, "dx": 1, "dy": 0},
          {"label": "2", "category": "Not An Id", "seats": 2, "x": 0, "y": 0, "dx": 1, "dy": 0}]}]
    })");
    EXPECT_TRUE(
        has_line(lines, "sections[0].rows[0].category: 'zzz' is not one of the categories"));
    // A malformed reference is named once, for its form.
    EXPECT_TRUE(
        has_line(lines, "sections[0].rows[1].category: may hold only a-z, 0-9, '-' and '_'"));
    EXPECT_EQ(lines.size(), 2u);
}

TEST(VenueTest, AFileBrokenEverywhereNamesItsFirstMistakesAndCountsTheRest) {
    std::string rows;
    for (int r = 0; r < 300; r++) rows += std::string(r > 0 ? "," : "") + "{}";
    const auto lines = errors_of(R"({"id": "v", "name": "V", "stage": {"x": 0, "y": 0},
        "categories": [{"id": "a", "name": "A", "price_cents": 1}],
        "sections": [{"id": "s", "name": "S", "rows": [)" +
                                 rows + "]}]}");
    ASSERT_EQ(lines.size(), 101u);
    // Each empty row misses label, category, seats, x, y, dx and dy: 2,100 mistakes in all.
    EXPECT_EQ(lines.back(), "venue: and 2000 more mistakes");
}

TEST(VenueTest, TheSeatDigestFollowsWhatNamesSeatsNotNamesOrPlaces) {
    const Venue venue = parsed(small_venue);
    std::string renamed = small_venue;
    renamed.replace(renamed.find("Test Hall"), 9, "Other Hall");
    renamed.replace(renamed.find(R"("x": 10, "y": 60)"), 16, R"("x": 12, "y": 61)");
    const Venue moved = parsed(renamed);
    EXPECT_NE(moved.digest, venue.digest);
    EXPECT_EQ(moved.seat_digest, venue.seat_digest);
    std::string longer = small_venue;
    longer.replace(longer.find(R"("seats": 4)"), 10, R"("seats": 5)");
    EXPECT_NE(parsed(longer).seat_digest, venue.seat_digest);
}

TEST(VenueTest, WrongShapesAndMissingFilesAreErrorsNotCrashes) {
    EXPECT_TRUE(has_line(errors_of("[1, 2]"), "venue: the file must hold one JSON object"));
    EXPECT_TRUE(has_line(errors_of("{not json"), "venue: the file must hold one JSON object"));
    EXPECT_TRUE(has_line(errors_of(R"({"id": "x", "name": "X", "stage": {"x": 0, "y": 0},
        "categories": {}, "sections": [7]})"),
                         "venue.categories: must be an array of 1 to 16 entries"));
    EXPECT_TRUE(has_line(errors_of(R"({"id": "x", "name": "X", "stage": {"x": 0, "y": 0},
        "categories": [{"id": "c", "name": "C", "price_cents": 1}], "sections": [7]})"),
                         "sections[0]: must be an object"));
    auto missing = load_venue("/nonexistent/venue.json");
    ASSERT_TRUE(std::holds_alternative<VenueErrors>(missing));
    EXPECT_EQ(std::get<VenueErrors>(missing).lines.front().rfind("/nonexistent/venue.json: ", 0),
              0u);
}

TEST(VenueTest, AVenueBeyondTheSeatLimitIsRefused) {
    std::string rows;
    for (int r = 0; r < 101; r++) {
        if (r > 0) rows += ",";
        rows += R"({"label": ")" + std::to_string(r) +
                R"(", "category": "c", "seats": 1000, "x": 0, "y": 0, "dx": 1, "dy": 0})";
    }
    const auto lines = errors_of(R"({"id": "big", "name": "Big", "stage": {"x": 0, "y": 0},
        "categories": [{"id": "c", "name": "C", "price_cents": 1}],
        "sections": [{"id": "s", "name": "S", "rows": [)" +
                                 rows + "]}]}");
    EXPECT_TRUE(has_line(lines, "sections[0]: the venue holds more than 100000 seats"));
}

TEST(SeatStatesTest, EachSeatKeepsItsOwnTwoBits) {
    SeatStates states(10);
    EXPECT_EQ(states.bytes().size(), 3u);
    states.set(0, SeatState::sold);
    states.set(1, SeatState::held);
    states.set(3, SeatState::sold);
    states.set(9, SeatState::held);
    EXPECT_EQ(static_cast<unsigned char>(states.bytes()[0]), 0b10'00'01'10u);
    EXPECT_EQ(static_cast<unsigned char>(states.bytes()[2]), 0b00'00'01'00u);
    states.set(1, SeatState::free);
    EXPECT_EQ(states.get(0), SeatState::sold);
    EXPECT_EQ(states.get(1), SeatState::free);
    EXPECT_EQ(states.get(2), SeatState::free);
    EXPECT_EQ(states.count(SeatState::sold), 2u);
    EXPECT_EQ(states.count(SeatState::held), 1u);
    EXPECT_EQ(states.count(SeatState::free), 7u);
}

TEST(BestAvailableTest, TakesTheRunNearestTheStageInTheNearestRow) {
    const Venue venue = parsed(small_venue);
    const BestAvailable best(venue);
    SeatStates states(venue.seat_count);
    // Row A spans x 0..100, the stage is at x 50: seats 2 and 3 (x 40 and 60) are the middle.
    EXPECT_EQ(best.find(states, 0, 2), (std::vector<SeatId>{2, 3}));
    EXPECT_EQ(best.find(states, 0, 3), (std::vector<SeatId>{1, 2, 3}));
    states.set(2, SeatState::held);
    EXPECT_EQ(best.find(states, 0, 2), (std::vector<SeatId>{3, 4}));
    EXPECT_EQ(best.find(states, 0, 3), (std::vector<SeatId>{3, 4, 5}));
    EXPECT_EQ(best.find(states, 1, 4), (std::vector<SeatId>{12, 13, 14, 15}));
}

TEST(BestAvailableTest, NeverSplitsAGroup) {
    const Venue venue = parsed(small_venue);
    const BestAvailable best(venue);
    SeatStates states(venue.seat_count);
    // Every other seat of rows A and B taken: three free in each row, none together.
    for (SeatId seat = 0; seat < 12; seat += 2) states.set(seat, SeatState::sold);
    EXPECT_EQ(best.find(states, 0, 2), std::nullopt);
    EXPECT_EQ(best.find(states, 0, 1), (std::vector<SeatId>{3}));
    states.set(13, SeatState::held);
    EXPECT_EQ(best.find(states, 1, 3), std::nullopt);
    EXPECT_EQ(best.find(states, 1, 2), (std::vector<SeatId>{14, 15}));
}

TEST(BestAvailableTest, AnUnknownCategoryOrAGroupSizeOutOfRangeFindsNothing) {
    const Venue venue = parsed(small_venue);
    const BestAvailable best(venue);
    const SeatStates states(venue.seat_count);
    EXPECT_EQ(best.find(states, venue.category_index("none"), 2), std::nullopt);
    EXPECT_EQ(best.find(states, 0, 0), std::nullopt);
    EXPECT_EQ(best.find(states, 0, 9), std::nullopt);
    EXPECT_TRUE(best.find(states, 0, 6).has_value());
}

TEST(BestAvailableTest, MovesBackARowWhenTheFrontRowIsFull) {
    const Venue venue = parsed(small_venue);
    const BestAvailable best(venue);
    SeatStates states(venue.seat_count);
    for (SeatId seat = 0; seat < 6; seat++) states.set(seat, SeatState::sold);
    EXPECT_EQ(best.find(states, 0, 4), (std::vector<SeatId>{7, 8, 9, 10}));
}

// A ledger whose reads complete when the test says, with the states the test sets.
struct ManualLedger {
    asio::io_context& io;
    SeatStates states;
    std::vector<Completion<Result<SeatStates>>> pending;
    std::int64_t now_us = 1'000'000;

    SeatMap map(const Venue& venue, SeatMap::Settings settings = {5, 1000}) {
        return SeatMap(
            io.get_executor(), venue,
            // The wait is a coroutine of its own, as a store's read is.
            [this]() -> asio::awaitable<Result<SeatStates>> {
                auto keep = [this](Completion<Result<SeatStates>> handler) {
                    pending.push_back(std::move(handler));
                };
                Result<SeatStates> result = co_await await_completion<Result<SeatStates>>(keep);
                co_return result;
            },
            [this] { return now_us; }, settings);
    }

    void answer(Result<SeatStates> result) {
        for (auto& handler : std::exchange(pending, {})) std::move(handler)(result);
        settle();
    }

    // Runs what is ready, the loop's earlier runs notwithstanding.
    void settle() {
        io.restart();
        io.poll();
    }

    // The map's first answer, its read answered with the ledger's states.
    std::optional<Result<SnapshotPtr>> first_read(SeatMap& map) {
        std::optional<Result<SnapshotPtr>> first;
        testing::start_async(io, map.current(), first);
        settle();
        answer(states);
        return first;
    }
};

TEST(SeatMapTest, ManyReadersShareOneLedgerRead) {
    const Venue venue = parsed(small_venue);
    asio::io_context io;
    ManualLedger ledger{io, SeatStates(venue.seat_count), {}};
    SeatMap map = ledger.map(venue);
    std::vector<std::optional<Result<SnapshotPtr>>> answers(100);
    for (auto& answer : answers) testing::start_async(io, map.current(), answer);
    ledger.settle();
    ASSERT_EQ(ledger.pending.size(), 1u);
    ledger.states.set(3, SeatState::sold);
    ledger.answer(ledger.states);
    EXPECT_EQ(map.reads(), 1u);
    for (const auto& answer : answers) {
        ASSERT_TRUE(answer.has_value() && answer->ok());
        EXPECT_EQ(answer->value(), answers.front()->value());
    }
    EXPECT_EQ(answers.front()->value()->states.get(3), SeatState::sold);
}

// A map whose first read has been answered.
class SeatMapRefreshTest : public ::testing::Test {
protected:
    void SetUp() override {
        first = ledger.first_read(map);
        ASSERT_TRUE(first && first->ok());
    }

    const Venue venue = parsed(small_venue);
    asio::io_context io;
    ManualLedger ledger{io, SeatStates(venue.seat_count), {}};
    SeatMap map = ledger.map(venue);
    std::optional<Result<SnapshotPtr>> first;
};

TEST_F(SeatMapRefreshTest, HappensAtMostOnceAnIntervalAndServesTheLastMapMeanwhile) {
    ledger.now_us += 4'000;  // Within the 5 ms interval: no read.
    auto within = testing::run_async(io, [&] { return map.current(); });
    EXPECT_EQ(within.value(), first->value());
    EXPECT_TRUE(ledger.pending.empty());

    ledger.now_us += 2'000;  // Past it: the old map at once, one read behind it.
    ledger.states.set(0, SeatState::held);
    auto behind = testing::run_async(io, [&] { return map.current(); });
    auto again = testing::run_async(io, [&] { return map.current(); });
    EXPECT_EQ(behind.value(), first->value());
    EXPECT_EQ(again.value(), first->value());
    ASSERT_EQ(ledger.pending.size(), 1u);
    ledger.answer(ledger.states);
    auto refreshed = testing::run_async(io, [&] { return map.current(); });
    EXPECT_EQ(refreshed.value()->states.get(0), SeatState::held);
    EXPECT_NE(refreshed.value()->etag, first->value()->etag);
    EXPECT_EQ(map.reads(), 2u);
}

TEST(SeatMapTest, AFailedReadFailsOnlyThoseWithoutAFreshEnoughMap) {
    const Venue venue = parsed(small_venue);
    asio::io_context io;
    ManualLedger ledger{io, SeatStates(venue.seat_count), {}};
    SeatMap map = ledger.map(venue);
    std::optional<Result<SnapshotPtr>> none;
    testing::start_async(io, map.current(), none);
    ledger.settle();
    ledger.answer(Fault::unavailable);
    ASSERT_TRUE(none.has_value());
    EXPECT_EQ(none->fault(), Fault::unavailable);
    // Within the interval the failed read answers for itself: no read per reader.
    auto soon = testing::run_async(io, [&] { return map.current(); });
    EXPECT_EQ(soon.fault(), Fault::unavailable);
    EXPECT_TRUE(ledger.pending.empty());

    ledger.now_us += 5'000;
    std::optional<Result<SnapshotPtr>> retried;  // After it, the next reader reads again.
    testing::start_async(io, map.current(), retried);
    ledger.settle();
    ledger.answer(ledger.states);
    ASSERT_TRUE(retried && retried->ok());

    ledger.now_us += 10'000;  // Old, not stale: a failed refresh keeps serving it.
    auto kept = testing::run_async(io, [&] { return map.current(); });
    ledger.answer(Fault::timeout);
    EXPECT_EQ(kept.value(), retried->value());

    ledger.now_us += 2'000'000;  // Stale: waiters of a failed read get its fault.
    std::optional<Result<SnapshotPtr>> stale;
    testing::start_async(io, map.current(), stale);
    ledger.settle();
    ledger.answer(Fault::timeout);
    ASSERT_TRUE(stale.has_value());
    EXPECT_EQ(stale->fault(), Fault::timeout);
}

// A ledger client out of request slots answers at once, without suspending: the waiting reader
// must still get that answer, and a stopped map answers shutting_down.
TEST(SeatMapTest, AReadThatEndsAtOnceStillAnswersItsReaders) {
    const Venue venue = parsed(small_venue);
    asio::io_context io;
    int reads = 0;
    SeatMap map(
        io.get_executor(), venue,
        [&reads]() -> asio::awaitable<Result<SeatStates>> {
            reads++;
            co_return Fault::overloaded;
        },
        [] { return std::int64_t{1'000'000}; }, SeatMap::Settings{});
    const auto answer = testing::run_async(io, [&] { return map.current(); });
    EXPECT_EQ(answer.fault(), Fault::overloaded);
    EXPECT_EQ(reads, 1);
    testing::run_async(io, [&]() -> asio::awaitable<bool> {
        co_await map.stop(std::chrono::milliseconds(1'000));
        co_return true;
    });
    EXPECT_EQ(testing::run_async(io, [&] { return map.current(); }).fault(), Fault::shutting_down);
}

// A ledger that never answers does not hold the shutdown: the stop ends after its timeout and
// the reader that waited is told.
TEST(SeatMapTest, AStopDoesNotWaitForeverForAReadThatNeverEnds) {
    const Venue venue = parsed(small_venue);
    asio::io_context io;
    ManualLedger ledger{io, SeatStates(venue.seat_count), {}};
    SeatMap map = ledger.map(venue);
    std::optional<Result<SnapshotPtr>> waiting;
    testing::start_async(io, map.current(), waiting);
    ledger.settle();
    ASSERT_EQ(ledger.pending.size(), 1u);
    testing::run_async(io, [&]() -> asio::awaitable<bool> {
        co_await map.stop(std::chrono::milliseconds(10));
        co_return true;
    });
    ledger.settle();
    ASSERT_TRUE(waiting.has_value());
    EXPECT_EQ(waiting->fault(), Fault::shutting_down);
    ledger.answer(ledger.states);  // A late answer changes nothing.
    EXPECT_EQ(testing::run_async(io, [&] { return map.current(); }).fault(), Fault::shutting_down);
}

// A read that took 20 ms keeps the next one away for 80 ms from its start: reading the map
// keeps the ledger busy a quarter of the time at most.
class SeatMapPacingTest : public ::testing::Test {
protected:
    // The map's first read, taking `took_us`.
    void read_first(std::int64_t took_us) {
        started_us = ledger.now_us;
        testing::start_async(io, map.current(), first);
        ledger.settle();
        ledger.now_us += took_us;
        ledger.answer(ledger.states);
        ASSERT_TRUE(first && first->ok());
    }

    const Venue venue = parsed(small_venue);
    asio::io_context io;
    ManualLedger ledger{io, SeatStates(venue.seat_count), {}};
    SeatMap map = ledger.map(venue);
    std::int64_t started_us = 0;
    std::optional<Result<SnapshotPtr>> first;
};

TEST_F(SeatMapPacingTest, ALongReadSpacesOutTheNextOne) {
    read_first(20'000);

    ledger.now_us = started_us + 79'000;  // Far past the 5 ms interval, short of 80 ms.
    EXPECT_TRUE(testing::run_async(io, [&] { return map.current(); }).ok());
    EXPECT_TRUE(ledger.pending.empty());
    ledger.now_us = started_us + 80'000;
    EXPECT_TRUE(testing::run_async(io, [&] { return map.current(); }).ok());
    EXPECT_EQ(ledger.pending.size(), 1u);
    ledger.answer(ledger.states);
    EXPECT_EQ(map.reads(), 2u);
}

// A read so long that the pacing holds the next one back past stale_max_ms: readers in that
// window get the last good map (the limit is longer after such a read), and no read starts.
TEST_F(SeatMapPacingTest, WhileItHoldsTheNextReadBackTheLastMapIsServed) {
    read_first(400'000);  // The next read may start 1.6 s after this one did.

    ledger.now_us = started_us + 1'200'000;  // Older than stale_max_ms (1 s).
    std::optional<Result<SnapshotPtr>> held_back;
    testing::start_async(io, map.current(), held_back);
    ledger.settle();
    ASSERT_TRUE(held_back && held_back->ok());
    EXPECT_EQ(held_back->value(), first->value());
    EXPECT_TRUE(ledger.pending.empty());
}

// After a 400 ms read the pacing lets the next start 1.6 s later, when the map is past
// stale_max_ms: its readers get that map at once instead of all waiting for the read. The limit
// is 1 s past the pacing's 1.6 s (2.6 s); a reader of an older map waits.
TEST_F(SeatMapPacingTest, ReadersOfAMapThePacingLeftOldDoNotWaitForTheNextRead) {
    read_first(400'000);

    ledger.now_us = started_us + 1'600'000;
    std::optional<Result<SnapshotPtr>> starter;
    std::optional<Result<SnapshotPtr>> follower;
    testing::start_async(io, map.current(), starter);
    testing::start_async(io, map.current(), follower);
    ledger.settle();
    ASSERT_EQ(ledger.pending.size(), 1u);  // The read behind them is under way.
    const bool at_once = starter.has_value() && follower.has_value();
    ledger.now_us += 400'000;      // As long as the first: the same pacing.
    ledger.answer(ledger.states);  // Answered before any check, so no reader is left waiting.
    EXPECT_TRUE(at_once);
    ASSERT_TRUE(starter && starter->ok());
    ASSERT_TRUE(follower && follower->ok());
    EXPECT_EQ(starter->value(), first->value());
    EXPECT_EQ(follower->value(), first->value());

    const std::int64_t second_us = started_us + 1'600'000;  // When the map now served was read.
    ledger.now_us = second_us + 2'599'000;
    std::optional<Result<SnapshotPtr>> last_served;
    testing::start_async(io, map.current(), last_served);
    ledger.settle();
    ASSERT_EQ(ledger.pending.size(), 1u);  // It starts the next read.
    const bool served = last_served.has_value();
    ledger.now_us = second_us + 2'600'000;
    std::optional<Result<SnapshotPtr>> stale;
    testing::start_async(io, map.current(), stale);
    ledger.settle();
    const bool waited = !stale.has_value();
    ledger.states.set(1, SeatState::sold);
    ledger.answer(ledger.states);
    EXPECT_TRUE(served);
    EXPECT_TRUE(waited);
    ASSERT_TRUE(stale && stale->ok());
    EXPECT_EQ(stale->value()->states.get(1), SeatState::sold);
}

// Only a good read stretches the limit: after a failed one, a map past stale_max_ms is no longer
// served, not even while the pacing holds the next read back: the failure answers.
TEST_F(SeatMapPacingTest, AFailedReadEndsTheLongerLimit) {
    read_first(400'000);
    ledger.now_us = started_us + 1'600'000;
    std::optional<Result<SnapshotPtr>> served;
    testing::start_async(io, map.current(), served);
    ledger.settle();
    ASSERT_EQ(ledger.pending.size(), 1u);
    ledger.now_us += 500'000;  // The next read may start at 3.6 s.
    ledger.answer(Fault::timeout);
    ASSERT_TRUE(served && served->ok());
    EXPECT_EQ(served->value(), first->value());

    ledger.now_us = started_us + 2'500'000;  // Within the limit the good read would have given.
    std::optional<Result<SnapshotPtr>> held_back;
    testing::start_async(io, map.current(), held_back);
    ledger.settle();
    ASSERT_TRUE(held_back.has_value());
    ASSERT_FALSE(held_back->ok());
    EXPECT_EQ(held_back->fault(), Fault::timeout);
    EXPECT_TRUE(ledger.pending.empty());

    ledger.now_us = started_us + 3'610'000;  // The pacing allows a read; the map is 3.61 s old.
    std::optional<Result<SnapshotPtr>> after;
    testing::start_async(io, map.current(), after);
    ledger.settle();
    ASSERT_EQ(ledger.pending.size(), 1u);
    const bool waited = !after.has_value();
    ledger.answer(Fault::timeout);
    EXPECT_TRUE(waited);  // Stale: it waited for the read it started.
    ASSERT_TRUE(after.has_value());
    ASSERT_FALSE(after->ok());
    EXPECT_EQ(after->fault(), Fault::timeout);
}

// Settings that read unasked for `keep_warm_ms` after a reader, at half of `stale_max_ms`.
SeatMap::Settings kept_warm(std::uint32_t stale_max_ms, std::uint32_t keep_warm_ms) {
    SeatMap::Settings settings{5, stale_max_ms};
    settings.keep_warm_ms = keep_warm_ms;
    return settings;
}

// Whether the loop, run for `ms`, runs out of work: no read and no timer left behind.
bool runs_dry(asio::io_context& io, int ms) {
    io.restart();
    io.run_for(std::chrono::milliseconds(ms));
    return io.stopped();
}

// While a reader came within keep_warm_ms, each read's end schedules the next for when the
// map is half its stale limit old, with no reader asking; past that window the map waits to be
// asked again.
TEST(SeatMapTest, KeepsReadingBetweenReadersForAWhileAfterTheLast) {
    const Venue venue = parsed(small_venue);
    asio::io_context io;
    ManualLedger ledger{io, SeatStates(venue.seat_count), {}};
    SeatMap map = ledger.map(venue, kept_warm(20, 100));  // Unasked 10 ms after a read began.
    const auto first = ledger.first_read(map);
    ASSERT_TRUE(first && first->ok());
    // The loop's own time runs the 10 ms: up to 2 s of it on a slow machine.
    const auto until_a_read_starts = [&] {
        for (int i = 0; i < 200 && ledger.pending.empty(); i++) {
            io.restart();
            io.run_for(std::chrono::milliseconds(10));
        }
    };

    ledger.now_us += 9'000;  // Not yet due: the timer's end waits on.
    EXPECT_FALSE(runs_dry(io, 30));
    EXPECT_TRUE(ledger.pending.empty());
    ledger.now_us += 1'000;
    until_a_read_starts();
    ASSERT_EQ(ledger.pending.size(), 1u);  // Nobody asked: the map reads by itself.
    ledger.states.set(2, SeatState::held);
    ledger.answer(ledger.states);
    EXPECT_EQ(map.reads(), 2u);
    auto seen = testing::run_async(io, [&] { return map.current(); });
    EXPECT_EQ(seen.value()->states.get(2), SeatState::held);  // Without waiting for a read.

    ledger.now_us += 95'000;  // The last reader asked 95 ms ago: one more.
    until_a_read_starts();
    ASSERT_EQ(ledger.pending.size(), 1u);
    ledger.now_us += 6'000;  // It ends 101 ms after the last reader: it is the last.
    ledger.answer(ledger.states);
    EXPECT_TRUE(runs_dry(io, 50));  // No read scheduled.
    EXPECT_TRUE(ledger.pending.empty());
    EXPECT_EQ(map.reads(), 3u);
}

// A clock set back (the server gives the map one that never is) does not keep the reads going:
// the window counts as over.
TEST(SeatMapTest, AClockSetBackEndsTheReadsNobodyAskedFor) {
    const Venue venue = parsed(small_venue);
    asio::io_context io;
    ManualLedger ledger{io, SeatStates(venue.seat_count), {}};
    SeatMap map = ledger.map(venue, kept_warm(20, 60'000));
    ASSERT_TRUE(ledger.first_read(map)->ok());
    ledger.now_us -= 3'600'000'000;  // An hour back.
    EXPECT_TRUE(runs_dry(io, 100));
    EXPECT_TRUE(ledger.pending.empty());
}

// A stop ends the reading by itself: the read it had scheduled is called off, not left for the
// loop to wait for, and a read in flight at the stop schedules none when it ends.
TEST(SeatMapTest, AStopEndsTheReadsNobodyAskedFor) {
    const Venue venue = parsed(small_venue);
    asio::io_context io;
    ManualLedger ledger{io, SeatStates(venue.seat_count), {}};
    SeatMap map = ledger.map(venue, kept_warm(1000, 60'000));
    std::optional<Result<SnapshotPtr>> first;
    testing::start_async(io, map.current(), first);
    ledger.settle();
    ledger.now_us += 1'000'000;  // A read of a second: the next may start 3 s after it ends.
    ledger.answer(ledger.states);
    ASSERT_TRUE(first && first->ok());
    io.restart();
    io.poll();
    EXPECT_FALSE(io.stopped());  // The next read is scheduled.
    testing::run_async(io, [&]() -> asio::awaitable<bool> {
        co_await map.stop(std::chrono::milliseconds(10));
        co_return true;
    });
    EXPECT_TRUE(runs_dry(io, 100));  // No timer left waiting.
    EXPECT_TRUE(ledger.pending.empty());
    EXPECT_EQ(map.reads(), 1u);
}

TEST(SeatMapTest, AReadInFlightAtTheStopSchedulesNoneAfterIt) {
    const Venue venue = parsed(small_venue);
    asio::io_context io;
    ManualLedger ledger{io, SeatStates(venue.seat_count), {}};
    SeatMap map = ledger.map(venue, kept_warm(20, 60'000));
    std::optional<Result<SnapshotPtr>> reader;
    testing::start_async(io, map.current(), reader);
    ledger.settle();
    ASSERT_EQ(ledger.pending.size(), 1u);
    std::optional<bool> stopped;
    testing::start_async(
        io,
        [](SeatMap& stopping) -> asio::awaitable<bool> {
            co_await stopping.stop(std::chrono::milliseconds(5'000));
            co_return true;
        }(map),
        stopped);
    ledger.settle();
    ledger.answer(ledger.states);
    ASSERT_TRUE(stopped.has_value());
    EXPECT_TRUE(runs_dry(io, 100));
    EXPECT_TRUE(ledger.pending.empty());
    EXPECT_EQ(map.reads(), 1u);
}

// A refresh that finds nothing changed keeps the body and tag, and makes the map younger.
TEST_F(SeatMapRefreshTest, ThatFindsNothingChangedKeepsTheTag) {
    ledger.now_us += 6'000;
    EXPECT_EQ(testing::run_async(io, [&] { return map.current(); }).value(), first->value());
    ledger.answer(ledger.states);
    const auto second = testing::run_async(io, [&] { return map.current(); });
    EXPECT_EQ(second.value()->etag, first->value()->etag);
    EXPECT_EQ(second.value()->read_at_us, ledger.now_us);
    EXPECT_EQ(map.reads(), 2u);
}

TEST(SeatMapTest, TheBodyCarriesTheStatesAndTheTagNamesThem) {
    const Venue venue = parsed(small_venue);
    SeatStates states(venue.seat_count);
    states.set(15, SeatState::sold);
    states.set(1, SeatState::held);
    const SeatMapSnapshot snapshot = make_snapshot(venue, states, 0);
    const auto body = nlohmann::json::parse(snapshot.body);
    EXPECT_EQ(body["venue"], "test");
    EXPECT_EQ(body["seats"], 16);
    EXPECT_EQ(body["free"], 14);
    EXPECT_EQ(body["held"], 1);
    EXPECT_EQ(body["sold"], 1);
    EXPECT_EQ(body["etag"], snapshot.etag);
    EXPECT_EQ(base64_decode(body["states"].get<std::string>()), std::string(states.bytes()));
    EXPECT_EQ(make_snapshot(venue, states, 5).etag, snapshot.etag);
    states.set(15, SeatState::held);
    EXPECT_NE(make_snapshot(venue, states, 0).etag, snapshot.etag);
    EXPECT_EQ(snapshot.etag.front(), '"');
    EXPECT_EQ(snapshot.etag.back(), '"');
}

TEST(SeatHoldRequestTest, HoldsOneToEightDistinctSeatsInOrderEachWithAnId) {
    using accounting::SeatHoldRequest;
    using accounting::valid_seat_hold;
    const SeatHoldRequest good{{1, 5, 9}, {11, 12, 13}, 30, 0};
    EXPECT_TRUE(valid_seat_hold(good, 10));
    EXPECT_FALSE(valid_seat_hold(SeatHoldRequest{{1, 5, 9}, {11, 12, 13}, 0, 0}, 10));
    EXPECT_FALSE(valid_seat_hold(good, 9));  // Seat 9 is beyond a venue of 9.
    EXPECT_FALSE(valid_seat_hold(SeatHoldRequest{{}, {}, 30, 0}, 10));
    EXPECT_FALSE(valid_seat_hold(SeatHoldRequest{{5, 1}, {11, 12}, 30, 0}, 10));
    EXPECT_FALSE(valid_seat_hold(SeatHoldRequest{{1, 1}, {11, 12}, 30, 0}, 10));
    EXPECT_FALSE(valid_seat_hold(SeatHoldRequest{{1, 2}, {11}, 30, 0}, 10));
    EXPECT_FALSE(valid_seat_hold(SeatHoldRequest{{1, 2}, {11, 0}, 30, 0}, 10));
    SeatHoldRequest nine;
    nine.timeout_s = 30;
    for (SeatId seat = 0; seat < 9; seat++) {
        nine.seats.push_back(seat);
        nine.hold_ids.push_back(seat + 1);
    }
    EXPECT_FALSE(valid_seat_hold(nine, 10));
    nine.seats.pop_back();
    nine.hold_ids.pop_back();
    EXPECT_TRUE(valid_seat_hold(nine, 10));
}

// Seats asked for since a snapshot's read are marked held in its copy; a later snapshot (past
// the grace for holds still in flight) forgets them, since it shows them itself.
TEST(RecentHolds, MarkWhatTheSnapshotCannotShowYetAndForgetWhatItDoes) {
    RecentHolds recent;
    const std::vector<SeatId> early = {1, 2};
    const std::vector<SeatId> late = {5};
    recent.add(early, std::vector<u128>{11, 12}, 1'000'000);
    recent.add(late, std::vector<u128>{15}, 1'050'000);
    SeatStates states(10);
    states.set(2, SeatState::sold);
    recent.apply(states, 1'020'000);  // Within the grace of both.
    EXPECT_EQ(states.get(1), SeatState::held);
    EXPECT_EQ(states.get(2), SeatState::sold);  // What the snapshot says first stays.
    EXPECT_EQ(states.get(5), SeatState::held);
    EXPECT_EQ(states.get(6), SeatState::free);

    SeatStates later(10);
    recent.apply(later, 1'000'000 + RecentHolds::in_flight_grace_us + 1);
    EXPECT_EQ(later.get(1), SeatState::free);  // Forgotten: that snapshot shows it itself.
    EXPECT_EQ(later.get(5), SeatState::held);
    EXPECT_EQ(recent.size(), 1u);
}

// Taking back a refused hold's seats removes that hold's own entries, so a seat two holds
// asked for stays marked by the other, for as long as the other's entry lasts (here the later
// one's, so that a snapshot past the earlier one's grace still shows the seat held); a hold no
// longer listed is passed over.
TEST(RecentHolds, ForgettingTakesBackTheEntriesOfThatHoldOnly) {
    RecentHolds recent;
    const std::vector<SeatId> refused = {1, 2};
    const std::vector<SeatId> later = {2, 3};
    recent.add(refused, std::vector<u128>{21, 22}, 1'000'000);
    recent.add(later, std::vector<u128>{32, 33}, 1'050'000);
    recent.forget(std::vector<u128>{21, 22, 99});
    EXPECT_EQ(recent.size(), 2u);
    SeatStates states(10);
    recent.apply(states, 1'000'000 + RecentHolds::in_flight_grace_us + 1);
    EXPECT_EQ(states.get(1), SeatState::free);
    EXPECT_EQ(states.get(2), SeatState::held);  // The later hold's entry.
    EXPECT_EQ(states.get(3), SeatState::held);
}

// Seat and hold lists as sessions and orders store them: comma-joined decimals, read back
// exactly, anything else refused.
TEST(SeatList, WritesAndReadsCommaJoinedDecimals) {
    const std::vector<SeatId> seats = {0, 7, 4'294'967'295U};
    EXPECT_EQ(seat_list_text(seats), "0,7,4294967295");
    EXPECT_EQ(parse_seat_list("0,7,4294967295"), seats);
    EXPECT_EQ(parse_seat_list(""), std::vector<SeatId>{});
    const std::vector<u128> holds = {1, u128_max};
    EXPECT_EQ(parse_hold_list(hold_list_text(holds)), holds);
    for (const char* bad : {",", "1,", ",1", "1,,2", " 1", "+1", "-1", "1.0", "4294967296", "x",
                            "1,2,3,4,5,6,7,8,9"}) {
        EXPECT_FALSE(parse_seat_list(bad).has_value()) << bad;
    }
    EXPECT_FALSE(parse_hold_list("1,").has_value());
    EXPECT_TRUE(parse_seat_list("1,2,3,4,5,6,7,8").has_value());
}

}  // namespace
}  // namespace tigerfans::seating

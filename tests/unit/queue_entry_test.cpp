// The queue's order: pre-queue entries in a uniformly random order whatever the order of their
// joins (checked with a seeded source standing in for the kernel's), later ones behind them in
// join order, ties by entry id; keys exact as Redis scores up to the largest; entry ids.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "tigerfans/core/u128.hpp"
#include "tigerfans/queue/entry.hpp"

namespace tigerfans::queue {
namespace {

// The queue position of each entry, by its index in `places` (the join order).
std::vector<std::size_t> positions(const std::vector<Place>& places) {
    std::vector<std::size_t> order(places.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&places](std::size_t a, std::size_t b) {
        return queued_before(places[a], places[b]);
    });
    std::vector<std::size_t> position(places.size());
    for (std::size_t rank = 0; rank < order.size(); rank++) position[order[rank]] = rank;
    return position;
}

// Kendall's tau between join order and queue order: 1 when the queue keeps the join order,
// -1 when it reverses it, near 0 when the two are unrelated.
double kendall_tau(const std::vector<std::size_t>& position) {
    const std::size_t n = position.size();
    std::int64_t score = 0;
    for (std::size_t i = 0; i < n; i++) {
        for (std::size_t j = i + 1; j < n; j++) score += position[i] < position[j] ? 1 : -1;
    }
    return static_cast<double>(score) / (static_cast<double>(n) * static_cast<double>(n - 1) / 2);
}

std::string id_from(std::mt19937_64& random) {
    const u128 value = (u128{random()} << 64) | random();
    return u128_to_hex(value);
}

std::vector<Place> prequeue_joins(std::size_t n, std::mt19937_64& random) {
    std::vector<Place> places;
    for (std::size_t i = 0; i < n; i++) {
        const std::uint64_t key = raffle_key(random());
        places.push_back(Place{key, id_from(random)});
    }
    return places;
}

// Tau's spread over random orders of n entries is about 0.67 / sqrt(n): 0.011 for 4000 joins,
// so |tau| < 0.05 leaves more than four times that.
TEST(QueueOrder, ThePreQueueIsARandomPermutationUnrelatedToJoinOrder) {
    std::mt19937_64 random(20261202);
    const std::vector<Place> places = prequeue_joins(4000, random);
    const std::vector<std::size_t> position = positions(places);
    std::vector<std::uint64_t> keys;
    for (const Place& place : places) keys.push_back(place.key);
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(std::adjacent_find(keys.begin(), keys.end()), keys.end()) << "a repeated draw";
    EXPECT_LT(std::abs(kendall_tau(position)), 0.05);
}

// The statistic sees a raffle that follows the join order: draws that grow with each join.
TEST(QueueOrder, KendallsTauSeesADrawThatFollowsJoinOrder) {
    std::vector<Place> places;
    for (std::uint64_t i = 0; i < 1000; i++) places.push_back(Place{raffle_key(i * 7919), "x"});
    EXPECT_EQ(kendall_tau(positions(places)), 1.0);
}

// Over many raffles of eight joiners, each join index lands on each place about equally often
// (1000 expected per cell, spread about 30).
TEST(QueueOrder, EveryPreQueueJoinerIsEquallyLikelyToLandOnEveryPlace) {
    constexpr std::size_t joiners = 8;
    constexpr int rounds = 8000;
    std::mt19937_64 random(7);
    std::vector<std::vector<int>> landed(joiners, std::vector<int>(joiners, 0));
    for (int round = 0; round < rounds; round++) {
        const std::vector<std::size_t> position = positions(prequeue_joins(joiners, random));
        for (std::size_t i = 0; i < joiners; i++) landed[i][position[i]]++;
    }
    for (std::size_t i = 0; i < joiners; i++) {
        for (std::size_t place = 0; place < joiners; place++) {
            EXPECT_GT(landed[i][place], 850) << "joiner " << i << ", place " << place;
            EXPECT_LT(landed[i][place], 1150) << "joiner " << i << ", place " << place;
        }
    }
}

TEST(QueueOrder, LaterArrivalsStandBehindThePreQueueInJoinOrder) {
    std::mt19937_64 random(11);
    std::vector<Place> places = prequeue_joins(500, random);
    places.push_back(Place{raffle_key(std::numeric_limits<std::uint64_t>::max()), "f"});
    const std::size_t prequeue = places.size();
    for (std::uint64_t sequence = 1; sequence <= 500; sequence++) {
        places.push_back(Place{arrival_key(sequence), id_from(random)});
    }
    const std::vector<std::size_t> position = positions(places);
    for (std::size_t i = 0; i < prequeue; i++) EXPECT_LT(position[i], prequeue) << i;
    for (std::size_t i = prequeue; i < places.size(); i++) EXPECT_EQ(position[i], i);
    const std::vector<std::size_t> later(position.begin() + prequeue, position.end());
    EXPECT_EQ(kendall_tau(later), 1.0);
}

TEST(QueueOrder, EqualDrawsAreOrderedByEntryId) {
    const Place b{raffle_key(42), "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
    const Place a{raffle_key(42), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    EXPECT_TRUE(queued_before(a, b));
    EXPECT_FALSE(queued_before(b, a));
    EXPECT_FALSE(queued_before(a, a));
}

TEST(QueueKey, CarriesItsPhaseAndValueInFiftyThreeBits) {
    const std::uint64_t all_ones = std::numeric_limits<std::uint64_t>::max();
    EXPECT_EQ(raffle_key(all_ones), key_value_max);
    EXPECT_EQ(raffle_key(sale_band_bit | 5), 5u);  // Bits above the draw are dropped.
    EXPECT_EQ(key_phase(raffle_key(all_ones)), Phase::prequeue);
    EXPECT_EQ(key_phase(arrival_key(1)), Phase::sale);
    EXPECT_EQ(key_value(arrival_key(77)), 77u);
    EXPECT_EQ(arrival_key(key_value_max), key_max);
    EXPECT_EQ(key_max, (std::uint64_t{1} << 53) - 1);
}

TEST(QueueKeyDeathTest, ASequenceBeyondFiftyTwoBitsIsABug) {
    EXPECT_DEATH(arrival_key(key_value_max + 1), "sequence");
    EXPECT_DEATH(arrival_key(0), "sequence");
}

// Neighbouring keys stay distinct and ordered as doubles, up to the largest key.
TEST(QueueKey, IsExactAsAScoreAtTheExtremes) {
    const std::uint64_t keys[] = {
        0,           1,      key_value_max - 1, key_value_max, sale_band_bit | 1, sale_band_bit | 2,
        key_max - 1, key_max};
    for (std::size_t i = 0; i < std::size(keys); i++) {
        EXPECT_EQ(key_from_score(key_score(keys[i])), keys[i]) << keys[i];
        EXPECT_EQ(key_from_score_text(std::to_string(keys[i])), keys[i]) << keys[i];
        if (i > 0) {
            EXPECT_LT(key_score(keys[i - 1]), key_score(keys[i])) << keys[i];
        }
    }
    EXPECT_LT(key_score(raffle_key(~std::uint64_t{0})), key_score(arrival_key(1)));
}

TEST(QueueKey, ScoresThatHoldNoKeyAreRefused) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double infinity = std::numeric_limits<double>::infinity();
    for (double score : {-1.0, 0.5, 9007199254740992.0, 1e300, nan, infinity, -infinity}) {
        EXPECT_EQ(key_from_score(score), std::nullopt) << score;
    }
}

// Redis prints scores in either notation; both read back exactly.
TEST(QueueKey, ReadsScoreTextInEitherNotation) {
    EXPECT_EQ(key_from_score_text("4503599627370497"), sale_band_bit | 1);
    EXPECT_EQ(key_from_score_text("4.503599627370497e+15"), sale_band_bit | 1);
    EXPECT_EQ(key_from_score_text("9007199254740991"), key_max);
    for (const char* text :
         {"", "abc", "1.5", "9007199254740992", "-1", "inf", "nan", "12 ", " 12", "0x10"}) {
        EXPECT_EQ(key_from_score_text(text), std::nullopt) << text;
    }
}

TEST(EntryId, IsThirtyTwoLowerCaseHexDigitsAndFresh) {
    const std::string id = new_entry_id();
    EXPECT_TRUE(is_entry_id(id)) << id;
    EXPECT_NE(new_entry_id(), id);
    EXPECT_TRUE(is_entry_id("0123456789abcdef0123456789abcdef"));
    for (const char* text :
         {"", "0123456789ABCDEF0123456789abcdef", "0123456789abcdef0123456789abcde",
          "0123456789abcdef0123456789abcdef0", "0123456789abcdef0123456789abcdeg"}) {
        EXPECT_FALSE(is_entry_id(text)) << text;
    }
}

TEST(QueueKey, SecureDrawsDiffer) { EXPECT_NE(secure_random64(), secure_random64()); }

}  // namespace
}  // namespace tigerfans::queue

// The sale's timeline: where the pre-queue and the sale begin, from the configuration or from
// the server's start, and the phase of a join at each boundary.
#include <gtest/gtest.h>

#include "tigerfans/core/clock.hpp"
#include "tigerfans/queue/sale.hpp"

namespace tigerfans::queue {
namespace {

constexpr std::int64_t minute_us = 60'000'000;

std::int64_t at(const char* text) { return parse_iso8601_utc(text).value(); }

TEST(SaleTimeline, ThePreQueueRunsFromItsOpeningUpToTheSaleExclusive) {
    const SaleTimeline sale = sale_timeline(at("2026-12-02T18:00:00Z"), 30, 0);
    EXPECT_EQ(sale.prequeue_opens_us, at("2026-12-02T17:30:00Z"));
    EXPECT_EQ(sale.sale_opens_us, at("2026-12-02T18:00:00Z"));
    EXPECT_EQ(sale.phase_at(at("2026-12-02T17:29:59.999999Z")), Phase::not_open);
    EXPECT_EQ(sale.phase_at(at("2026-12-02T17:30:00Z")), Phase::prequeue);
    EXPECT_EQ(sale.phase_at(at("2026-12-02T17:59:59.999999Z")), Phase::prequeue);
    EXPECT_EQ(sale.phase_at(at("2026-12-02T18:00:00Z")), Phase::sale);
    EXPECT_EQ(sale.phase_at(at("2027-01-01T00:00:00Z")), Phase::sale);
}

// Without SALE_OPENS_AT the sale opens when the server starts: every join is a sale join.
TEST(SaleTimeline, WithoutAnOpeningTimeTheSaleOpensAtTheStart) {
    const std::int64_t start_us = at("2026-12-02T08:00:00Z");
    const SaleTimeline sale = sale_timeline(std::nullopt, 30, start_us);
    EXPECT_EQ(sale.sale_opens_us, start_us);
    EXPECT_EQ(sale.prequeue_opens_us, start_us - 30 * minute_us);
    EXPECT_EQ(sale.phase_at(start_us), Phase::sale);
}

TEST(SaleTimeline, NoPreQueueMinutesMeansNoRaffle) {
    const SaleTimeline sale = sale_timeline(at("2026-12-02T18:00:00Z"), 0, 0);
    EXPECT_EQ(sale.phase_at(sale.sale_opens_us - 1), Phase::not_open);
    EXPECT_EQ(sale.phase_at(sale.sale_opens_us), Phase::sale);
}

TEST(SaleTimeline, IsBuiltFromTheConfiguration) {
    config::Config config;
    config.sale_opens_at_us = at("2026-12-02T18:00:00Z");
    config.prequeue_minutes = 45;
    const SaleTimeline sale = sale_timeline(config, 0);
    EXPECT_EQ(sale.prequeue_opens_us, at("2026-12-02T17:15:00Z"));
    EXPECT_EQ(sale.sale_opens_us, at("2026-12-02T18:00:00Z"));
}

TEST(SaleTimeline, PhasesHaveNames) {
    EXPECT_EQ(phase_name(Phase::not_open), "not_open");
    EXPECT_EQ(phase_name(Phase::prequeue), "prequeue");
    EXPECT_EQ(phase_name(Phase::sale), "sale");
}

}  // namespace
}  // namespace tigerfans::queue

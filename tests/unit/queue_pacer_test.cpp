// The admission pacer: exact over long runs whatever the steps' spacing, nothing accrued while
// paused or at the holds ceiling and no burst after either, the ceiling's room, a clock that
// goes back, and a stalled loop's bounded catch-up.
#include <gtest/gtest.h>

#include <random>

#include "tigerfans/queue/pacer.hpp"

namespace tigerfans::queue {
namespace {

constexpr std::int64_t second_us = 1'000'000;
constexpr std::int64_t start_us = 1'700'000'000 * second_us;

// Over an hour of steps at random spacings (up to a quarter second), the admitted count after
// t seconds is rate * t rounded down at every step, so always within one of rate * t.
TEST(AdmissionPacer, AdmitsExactlyTheRateOverALongRun) {
    for (const std::uint32_t rate : {1u, 7u, 50u, 999u, 1'000'000u}) {
        std::mt19937_64 random(rate);
        std::uniform_int_distribution<std::int64_t> spacing_us(1, second_us / 4);
        AdmissionPacer pacer(rate, 0, start_us);
        std::uint64_t admitted = 0;
        for (std::int64_t t_us = 0; t_us < 3600 * second_us;) {
            t_us += spacing_us(random);
            admitted += pacer.step(start_us + t_us, false, 0);
            const std::uint64_t due = std::uint64_t{rate} * static_cast<std::uint64_t>(t_us) /
                                      static_cast<std::uint64_t>(second_us);
            ASSERT_EQ(admitted, due) << "rate " << rate << " at " << t_us << " us";
        }
    }
}

// Ten steps a second for ten seconds at 10/s, paused from 3 s to 6 s: seven seconds' worth,
// and the first step after the pause admits one tenth of a second's worth, not the pause's.
TEST(AdmissionPacer, APauseAccruesNothingAndEndsWithoutABurst) {
    AdmissionPacer pacer(10, 0, start_us);
    std::uint64_t admitted = 0;
    for (int tenth = 1; tenth <= 100; tenth++) {
        const bool paused = tenth > 30 && tenth <= 60;
        const std::uint64_t now = pacer.step(start_us + tenth * second_us / 10, paused, 0);
        if (paused || tenth == 61) {
            EXPECT_EQ(now, paused ? 0u : 1u) << tenth;
        }
        admitted += now;
    }
    EXPECT_EQ(admitted, 70u);
}

TEST(AdmissionPacer, TheHoldsCeilingStopsAdmissionAndLimitsItToTheRoomLeft) {
    AdmissionPacer pacer(100, 10, start_us);
    EXPECT_EQ(pacer.step(start_us + second_us, false, 10), 0u);  // At the ceiling.
    EXPECT_EQ(pacer.step(start_us + 2 * second_us, false, 25), 0u);
    EXPECT_EQ(pacer.step(start_us + 3 * second_us, false, 8), 2u);  // A second's 100; room 2.
    EXPECT_EQ(pacer.step(start_us + 3 * second_us + 50'000, false, 0), 5u);  // No saved 98.
    EXPECT_EQ(pacer.step(start_us + 4 * second_us, false, 0), 10u);          // Room 10 of 95 due.
}

TEST(AdmissionPacer, NoCeilingAdmitsWhateverIsHeld) {
    AdmissionPacer pacer(100, 0, start_us);
    EXPECT_EQ(pacer.step(start_us + second_us, false, 1'000'000'000), 100u);
}

// A fraction accrued before a pause is kept: 0.5 + 0.5 after it make one admission.
TEST(AdmissionPacer, KeepsTheFractionAcrossAPause) {
    AdmissionPacer pacer(1, 0, start_us);
    EXPECT_EQ(pacer.step(start_us + second_us / 2, false, 0), 0u);
    EXPECT_EQ(pacer.step(start_us + 5 * second_us, true, 0), 0u);
    EXPECT_EQ(pacer.step(start_us + 5 * second_us + second_us / 2, false, 0), 1u);
}

TEST(AdmissionPacer, AClockThatGoesBackAccruesNothingThenRunsOnFromItsNewReading) {
    AdmissionPacer pacer(10, 0, start_us);
    EXPECT_EQ(pacer.step(start_us + 10 * second_us, false, 0), 20u);  // Capped at catch-up.
    EXPECT_EQ(pacer.step(start_us, false, 0), 0u);                    // Set back 10 s.
    EXPECT_EQ(pacer.step(start_us + second_us, false, 0), 10u);       // Not 10 s of nothing.
    EXPECT_EQ(pacer.step(start_us + 2 * second_us, false, 0), 10u);
}

TEST(AdmissionPacer, AStalledLoopCatchesUpAtMostTheBoundedGap) {
    AdmissionPacer pacer(10, 0, start_us);
    EXPECT_EQ(pacer.step(start_us + 60 * second_us, false, 0),
              static_cast<std::uint64_t>(10 * catch_up_max_us / second_us));
}

// At the most a step takes, a step that came late admits the most and the next steps make up
// the rest: over a second of steps 50 to 60 ms apart at 100,000/s (5,000 a step at most), every
// admission due is made, one step behind at most. A pause drops what was carried.
TEST(AdmissionPacer, WhatAStepsMostHoldsBackIsAdmittedByTheNextSteps) {
    constexpr std::uint64_t most = 5'000;
    AdmissionPacer pacer(100'000, 0, start_us);
    std::uint64_t admitted = 0;
    std::int64_t t_us = 0;
    for (int step = 0; step < 20; step++) {
        t_us += step % 2 == 0 ? 60'000 : 40'000;  // Late, then early: 50 ms on average.
        const std::uint64_t now = pacer.step(start_us + t_us, false, 0, most);
        EXPECT_LE(now, most);
        admitted += now;
    }
    EXPECT_EQ(admitted, 100'000u);  // A second's worth: none dropped.
    EXPECT_EQ(pacer.step(start_us + t_us + 80'000, false, 0, most), most);  // 3,000 carried.
    EXPECT_EQ(pacer.step(start_us + t_us + 90'000, true, 0, most), 0u);     // Paused: dropped.
    EXPECT_EQ(pacer.step(start_us + t_us + 100'000, false, 0, most), 1'000u);
}

TEST(AdmissionPacer, ARateChangeAppliesFromTheNextStepOn) {
    AdmissionPacer pacer(100, 0, 0);
    EXPECT_EQ(pacer.step(1'000'000, false, 0), 100u);  // One second at 100/s.
    pacer.set_rate(1'000);
    EXPECT_EQ(pacer.per_second(), 1'000u);
    EXPECT_EQ(pacer.step(2'000'000, false, 0), 1'000u);  // The next second at 1000/s.
    pacer.set_rate(3);
    EXPECT_EQ(pacer.step(2'500'000, false, 0), 1u);  // 1.5 accrued: one now, half kept.
    EXPECT_EQ(pacer.step(3'000'000, false, 0), 2u);  // 1.5 more and the half: two.
}

}  // namespace
}  // namespace tigerfans::queue

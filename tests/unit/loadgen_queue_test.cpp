// The load client's queue mode, its pure parts: Kendall's tau-b against a pairwise count on
// random data with ties, the achieved admission rate, the poll pacing and schedule, the JSON
// report's figures and the verdict on a run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "load/json_fields.hpp"
#include "load/queue_stats.hpp"
#include "load/report_json.hpp"

namespace tigerfans::loadgen {
namespace {

using Values = std::vector<std::int64_t>;

// Tau-b by its definition, every pair looked at.
std::optional<double> tau_b_pairwise(const Values& x, const Values& y) {
    std::int64_t concordant = 0, discordant = 0, x_tied = 0, y_tied = 0, pairs = 0;
    for (std::size_t i = 0; i < x.size(); i++) {
        for (std::size_t j = i + 1; j < x.size(); j++) {
            pairs++;
            const std::int64_t dx = x[i] - x[j];
            const std::int64_t dy = y[i] - y[j];
            if (dx == 0) x_tied++;
            if (dy == 0) y_tied++;
            if (dx == 0 || dy == 0) continue;
            ((dx > 0) == (dy > 0) ? concordant : discordant)++;
        }
    }
    const double denominator = std::sqrt(static_cast<double>(pairs - x_tied)) *
                               std::sqrt(static_cast<double>(pairs - y_tied));
    if (denominator == 0) return std::nullopt;
    return static_cast<double>(concordant - discordant) / denominator;
}

Values iota_values(std::size_t n) {
    Values values(n);
    std::iota(values.begin(), values.end(), std::int64_t{0});
    return values;
}

TEST(KendallTau, IsOneForTheSameOrderAndMinusOneForTheReverse) {
    const Values x = iota_values(1000);
    Values reversed(x.rbegin(), x.rend());
    EXPECT_EQ(kendall_tau_b(x, x), 1.0);
    EXPECT_EQ(kendall_tau_b(x, reversed), -1.0);
    // Any increasing transform ranks as the identity does.
    Values squares;
    for (const std::int64_t v : x) squares.push_back(v * v + 7);
    EXPECT_EQ(kendall_tau_b(x, squares), 1.0);
}

TEST(KendallTau, MatchesTheKnownValueOfASmallCase) {
    // Six pairs: (1, 2) and (3, 4) swapped, the other four in order.
    const Values x = {1, 2, 3, 4};
    const Values y = {2, 1, 4, 3};
    ASSERT_TRUE(kendall_tau_b(x, y));
    EXPECT_DOUBLE_EQ(*kendall_tau_b(x, y), (4.0 - 2.0) / 6.0);
    // With ties: x and y each tie one pair, the other four agree: 4 / sqrt((6 - 1) (6 - 1)).
    const Values tied_x = {1, 1, 2, 3};
    const Values tied_y = {1, 2, 2, 3};
    EXPECT_DOUBLE_EQ(*kendall_tau_b(tied_x, tied_y), *tau_b_pairwise(tied_x, tied_y));
    EXPECT_DOUBLE_EQ(*kendall_tau_b(tied_x, tied_y), 4.0 / 5.0);
}

TEST(KendallTau, AgreesWithThePairwiseCountOnRandomDataWithTies) {
    std::mt19937_64 random(20261202);
    for (int round = 0; round < 200; round++) {
        const std::size_t n = 2 + random() % 300;
        // Small value ranges give many ties, large ones almost none.
        const std::int64_t x_range =
            1 + static_cast<std::int64_t>(random() % (round % 2 ? 5 : 1000));
        const std::int64_t y_range = 1 + static_cast<std::int64_t>(random() % 50);
        Values x(n), y(n);
        for (std::size_t i = 0; i < n; i++) {
            x[i] = static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(x_range));
            y[i] = static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(y_range));
        }
        const auto fast = kendall_tau_b(x, y);
        const auto slow = tau_b_pairwise(x, y);
        ASSERT_EQ(fast.has_value(), slow.has_value()) << "round " << round;
        if (fast) {
            EXPECT_NEAR(*fast, *slow, 1e-12) << "round " << round << ", n " << n;
        }
    }
}

TEST(KendallTau, IsNearZeroForAShuffleAndFastForAHundredThousand) {
    std::mt19937_64 random(7);
    const Values x = iota_values(100'000);
    Values y = x;
    std::shuffle(y.begin(), y.end(), random);
    const auto tau = kendall_tau_b(x, y);
    ASSERT_TRUE(tau);
    // The spread over random orders is about 0.67 / sqrt(n): 0.002 here.
    EXPECT_LT(std::abs(*tau), 0.01);
}

TEST(KendallTau, IsUndefinedWithoutTwoPairsOrWithAConstantVariable) {
    EXPECT_FALSE(kendall_tau_b(Values{}, Values{}));
    EXPECT_FALSE(kendall_tau_b(Values{1}, Values{1}));
    EXPECT_FALSE(kendall_tau_b(Values{1, 2}, Values{1}));
    EXPECT_FALSE(kendall_tau_b(Values{1, 2, 3}, Values{5, 5, 5}));
    EXPECT_FALSE(kendall_tau_b(Values{4, 4}, Values{1, 2}));
}

TEST(AdmissionRate, CountsTheStepsBetweenTheFirstAndTheLastOverTheirSpan) {
    const std::int64_t t0 = 1'700'000'000'000;
    // 21 steps of 100 admissions, 50 ms apart: 1900 between the first and the last in 0.95 s.
    Values steps;
    for (std::int64_t step = 0; step <= 20; step++) steps.insert(steps.end(), 100, t0 + step * 50);
    std::shuffle(steps.begin(), steps.end(), std::mt19937_64(3));
    EXPECT_EQ(admission_rate_per_s(steps), 2000.0);
    // A stamp each: (admissions - 2) over the span without its last gap.
    Values each;
    for (std::int64_t i = 0; i <= 500; i++) each.push_back(t0 + 2 * i);
    EXPECT_EQ(admission_rate_per_s(each), 500.0);
    // The last step found only 3 entries left: it does not pull the rate down.
    Values partial;
    for (std::int64_t step = 0; step <= 20; step++)
        partial.insert(partial.end(), 100, t0 + step * 50);
    partial.insert(partial.end(), 3, t0 + 21 * 50);
    EXPECT_EQ(admission_rate_per_s(partial), 2000.0);
    // Two stamps: the second step's over the gap.
    EXPECT_EQ(admission_rate_per_s(Values{t0, t0, t0 + 50, t0 + 50}), 40.0);
    EXPECT_FALSE(admission_rate_per_s(Values{5}));
    EXPECT_FALSE(admission_rate_per_s(Values{5, 5, 5}));
}

TEST(PollDelay, WaitsForTheEntriesAheadAndOneAdmissionStep) {
    using std::chrono::microseconds;
    const microseconds fallback{1'000'000};
    EXPECT_EQ(poll_delay(2000, 2000, fallback), microseconds(1'050'000));
    EXPECT_EQ(poll_delay(1, 1000, fallback), microseconds(51'000));
    // A position below 1 (the server's mistake) counts as the next one.
    EXPECT_EQ(poll_delay(0, 1000, fallback), microseconds(51'000));
    EXPECT_EQ(poll_delay(50, 0, fallback), fallback);
    EXPECT_EQ(poll_delay(50, -1, fallback), fallback);
}

TEST(PollSchedule, HandsOutFansWhenDueEarliestFirstTiesInOrderAdded) {
    using Clock = PollSchedule::Clock;
    const Clock::time_point t0{};
    PollSchedule schedule;
    EXPECT_FALSE(schedule.next_due());
    EXPECT_FALSE(schedule.take_due(t0));
    schedule.add(7, t0 + std::chrono::seconds(2));
    schedule.add(3, t0 + std::chrono::seconds(1));
    schedule.add(5, t0 + std::chrono::seconds(1));
    schedule.add(1, t0 + std::chrono::seconds(3));
    EXPECT_EQ(schedule.size(), 4u);
    EXPECT_EQ(schedule.next_due(), t0 + std::chrono::seconds(1));
    EXPECT_FALSE(schedule.take_due(t0));
    EXPECT_EQ(schedule.take_due(t0 + std::chrono::seconds(2)), 3);
    EXPECT_EQ(schedule.take_due(t0 + std::chrono::seconds(2)), 5);
    EXPECT_EQ(schedule.take_due(t0 + std::chrono::seconds(2)), 7);
    EXPECT_FALSE(schedule.take_due(t0 + std::chrono::seconds(2)));
    EXPECT_EQ(schedule.take_due(t0 + std::chrono::seconds(9)), 1);
    EXPECT_EQ(schedule.size(), 0u);
}

QueueReport clean_report() {
    QueueReport r;
    r.fans = 4;
    r.prequeue_joins.attempted = r.prequeue_joins.ok = 2;
    r.prequeue_joins.wall_s = 0.5;
    r.later_joins.attempted = r.later_joins.ok = 2;
    r.later_joins.wall_s = 0.5;
    r.prequeue_fans = r.later_fans = 2;
    r.admitted = 4;
    r.admission_rate_per_s = 1010;
    r.configured_per_s = 1000;
    r.prequeue_tau = 0.01;
    r.later_tau = 1.0;
    r.buys.total = 1;
    r.buys.outcomes[Outcome::paid] = 1;
    r.token_checks.push_back({"no token", "admission_missing", "HTTP 403 admission_missing"});
    return r;
}

TEST(QueueReport, CarriesTheFiguresTheBenchmarkReads) {
    const nlohmann::json out = queue_json(clean_report());
    EXPECT_EQ(out["mode"], "queue");
    EXPECT_EQ(out["total"], 4);
    EXPECT_DOUBLE_EQ(out["joins"]["per_s"].get<double>(), 4.0);
    EXPECT_EQ(out["joins"]["prequeue"]["ok"], 2);
    EXPECT_NEAR(out["admission"]["rate_error"].get<double>(), 0.01, 1e-12);
    EXPECT_EQ(out["admission"]["configured_per_s"], 1000.0);
    EXPECT_EQ(out["fairness"]["prequeue_tau"], 0.01);
    EXPECT_EQ(out["fairness"]["later_tau"], 1.0);
    EXPECT_EQ(out["buys"]["paid"], 1);
    EXPECT_EQ(out["tokens"]["bought_without_valid_token"], 0);
    EXPECT_EQ(out["tokens"]["checks"][0]["as_expected"], true);
    EXPECT_EQ(out["clean"], true);
    // Unknown figures are null, not zero.
    QueueReport unknown = clean_report();
    unknown.prequeue_tau.reset();
    unknown.configured_per_s.reset();
    const nlohmann::json partial = queue_json(unknown);
    EXPECT_TRUE(partial["fairness"]["prequeue_tau"].is_null());
    EXPECT_TRUE(partial["admission"]["rate_error"].is_null());
}

TEST(QueueReport, IsNotCleanWhenAnythingWentWrong) {
    EXPECT_TRUE(clean_report().clean());
    std::vector<QueueReport> broken(6, clean_report());
    broken[0].later_joins.ok = 1;
    broken[1].never_admitted = 1;
    broken[2].duplicate_seqs = 1;
    broken[3].bands_in_order = false;
    broken[4].buys.outcomes[Outcome::paid] = 0;
    broken[5].token_checks[0].got = "HTTP 200";
    broken[5].token_checks[0].bought = true;
    for (std::size_t i = 0; i < broken.size(); i++) EXPECT_FALSE(broken[i].clean()) << i;
    // A refusal with another reason is not what the check expects either.
    QueueReport other = clean_report();
    other.token_checks[0].got = "HTTP 403 admission_malformed";
    EXPECT_FALSE(other.clean());
}

TEST(JsonFields, ReadsNumbersWithFractionsAndRefusesTheRest) {
    const std::string body = R"({"a":2000,"b":12.5,"c":-0.25,"d":null,"e":"3","f":1e3,"g":+1})";
    EXPECT_EQ(json_number_member(body, "a"), 2000.0);
    EXPECT_EQ(json_number_member(body, "b"), 12.5);
    EXPECT_EQ(json_number_member(body, "c"), -0.25);
    EXPECT_FALSE(json_number_member(body, "d"));
    EXPECT_FALSE(json_number_member(body, "e"));
    EXPECT_EQ(json_number_member(body, "f"), 1000.0);
    EXPECT_FALSE(json_number_member(body, "g"));
    EXPECT_FALSE(json_number_member(body, "missing"));
}

}  // namespace
}  // namespace tigerfans::loadgen

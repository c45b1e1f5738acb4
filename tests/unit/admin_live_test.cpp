// The admin's live view: rates from counter differences, the p99 of a histogram's difference,
// the ring of samples, the sampler on a loop with a ledger that fails, the admission change's
// validation, and the flows' checkout and sale counts the view charts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "flow_fakes.hpp"
#include "tigerfans/admin/live.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::admin {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(LiveRate, IsTheDifferenceOverTheElapsedTime) {
    EXPECT_DOUBLE_EQ(rate_per_second(100, 150, 1s), 50.0);
    EXPECT_DOUBLE_EQ(rate_per_second(100, 150, 500ms), 100.0);
    EXPECT_DOUBLE_EQ(rate_per_second(7, 7, 2s), 0.0);
}

TEST(LiveRate, IsZeroWithoutElapsedTimeOrWhenTheTotalWentBack) {
    EXPECT_DOUBLE_EQ(rate_per_second(100, 150, 0s), 0.0);
    EXPECT_DOUBLE_EQ(rate_per_second(100, 150, -1s), 0.0);
    EXPECT_DOUBLE_EQ(rate_per_second(150, 100, 1s), 0.0);
}

const std::vector<double> bounds_s = {0.001, 0.01, 0.1, 1.0};  // Five buckets with +Inf.

TEST(LiveP99, IsTakenFromTheObservationsBetweenTheSnapshotsOnly) {
    // Before: a thousand slow requests (up to 1 s). Between: 100 fast ones, one of them slow.
    const std::vector<std::uint64_t> before = {0, 0, 0, 1000, 0};
    const std::vector<std::uint64_t> after = {99, 0, 0, 1001, 0};
    EXPECT_DOUBLE_EQ(*p99_ms_between(bounds_s, before, after), 1.0);  // 99 of 100 within 1 ms.
    // The whole histogram would say 1 s: the old observations must not count.
    EXPECT_DOUBLE_EQ(metrics::quantile_bound(bounds_s, after, 0.99), 1.0);
}

TEST(LiveP99, FollowsTheSlowestPercent) {
    const std::vector<std::uint64_t> before = {10, 10, 10, 10, 0};
    const std::vector<std::uint64_t> after = {10 + 90, 10, 10 + 8, 10, 0};  // 90 fast, 8 at 100 ms.
    EXPECT_DOUBLE_EQ(*p99_ms_between(bounds_s, before, after), 100.0);
    const std::vector<std::uint64_t> two_slow = {10 + 98, 10, 10, 10 + 2, 0};  // 2 of 100 at 1 s.
    EXPECT_DOUBLE_EQ(*p99_ms_between(bounds_s, before, two_slow), 1000.0);
}

TEST(LiveP99, IsUnknownWithoutObservationsAndCappedAtTheLastBound) {
    const std::vector<std::uint64_t> same = {5, 5, 5, 5, 5};
    EXPECT_FALSE(p99_ms_between(bounds_s, same, same).has_value());
    const std::vector<std::uint64_t> beyond = {5, 5, 5, 5, 6};
    EXPECT_DOUBLE_EQ(*p99_ms_between(bounds_s, same, beyond), 1000.0);
    EXPECT_DOUBLE_EQ(*p99_ms_between(bounds_s, {}, same), 1000.0);  // No earlier snapshot.
}

TEST(LiveSample, RatesComeFromTheDifferenceOfTwoReadings) {
    LiveReading before;
    before.at = std::chrono::steady_clock::time_point(10s);
    before.admission = {true, false, 50, 400, 1000};
    before.checkouts = 10;
    before.sales = 4;
    before.latency_counts = {0, 0, 0, 0, 0};
    LiveReading after = before;
    after.unix_ms = 1'700'000'000'000;
    after.at += 2s;
    after.admission = {true, true, 80, 300, 1100};
    after.checkouts = 30;
    after.sales = 10;
    after.latency_counts = {10, 0, 0, 0, 0};
    const LiveSample sample = sample_between(before, after, bounds_s);
    EXPECT_EQ(sample.t_ms, 1'700'000'000'000);
    EXPECT_EQ(sample.queue_length, 300u);
    EXPECT_DOUBLE_EQ(sample.admitted_per_s, 50.0);
    EXPECT_EQ(sample.target_per_s, 80u);
    EXPECT_TRUE(sample.paused);
    EXPECT_DOUBLE_EQ(sample.checkouts_per_s, 10.0);
    EXPECT_DOUBLE_EQ(sample.sales_per_s, 3.0);
    EXPECT_DOUBLE_EQ(*sample.p99_ms, 1.0);
    EXPECT_FALSE(sample.active_holds.has_value());  // The ledger's figures are added apart.

    const json written = to_json(sample);
    EXPECT_EQ(written["queue_length"], 300);
    EXPECT_EQ(written["paused"], true);
    EXPECT_TRUE(written["active_holds"].is_null());
    EXPECT_TRUE(written["stock_left"].is_null());
    EXPECT_EQ(written["p99_ms"], 1.0);
}

LiveSample stamped(std::int64_t t_ms) {
    LiveSample sample;
    sample.t_ms = t_ms;
    return sample;
}

std::vector<std::int64_t> stamps(const std::vector<LiveSample>& samples) {
    std::vector<std::int64_t> out;
    for (const auto& sample : samples) out.push_back(sample.t_ms);
    return out;
}

TEST(LiveSeries, KeepsTheLastSamplesOldestFirst) {
    LiveSeries series(3);
    EXPECT_TRUE(series.since(0).empty());
    series.add(stamped(1));
    series.add(stamped(2));
    EXPECT_EQ(stamps(series.since(0)), (std::vector<std::int64_t>{1, 2}));
    for (std::int64_t t = 3; t <= 7; t++) series.add(stamped(t));
    EXPECT_EQ(series.size(), 3u);
    EXPECT_EQ(stamps(series.since(0)), (std::vector<std::int64_t>{5, 6, 7}));
}

TEST(LiveSeries, AnswersOnlyTheSamplesAfterAStamp) {
    LiveSeries series(4);
    for (std::int64_t t = 10; t <= 60; t += 10) series.add(stamped(t));
    EXPECT_EQ(stamps(series.since(40)), (std::vector<std::int64_t>{50, 60}));
    EXPECT_EQ(stamps(series.since(45)), (std::vector<std::int64_t>{50, 60}));
    EXPECT_TRUE(series.since(60).empty());
    EXPECT_EQ(stamps(series.since(std::numeric_limits<std::int64_t>::min())),
              (std::vector<std::int64_t>{30, 40, 50, 60}));
}

class FixedAdmission final : public queue::AdmissionControl {
public:
    queue::AdmissionState state() const override { return state_; }
    void set_paused(bool paused) override { state_.paused = paused; }
    void set_rate(std::uint32_t per_second) override { state_.per_second = per_second; }
    queue::AdmissionState state_{true, false, 25, 0, 0};
};

// A sampler on a loop of its own, a sample every 10 ms, over doubles of what it reads.
struct SamplerRig {
    boost::asio::io_context io;
    flows::testing_fakes::CallPlan calls;
    flows::testing_fakes::FakeLedger ledger{calls};
    FixedAdmission admission;
    metrics::Counter checkouts, sales;
    metrics::Histogram requests{metrics::latency_buckets_seconds()};
    LiveSampler sampler{io.get_executor(),
                        LiveSources{admission, ledger, checkouts, sales, requests}, 10ms, 4, 1s};

    void stop() {
        testing::run_async(io, [&]() -> boost::asio::awaitable<bool> {
            co_await sampler.stop(1s);
            co_return true;
        });
    }
};

// The first ledger read fails, so the first sample leaves the ledger's figures unknown; the
// next reads succeed and fill them in.
TEST(LiveSampler, ALedgerFailureLeavesItsFiguresUnknownAndSamplingGoesOn) {
    SamplerRig rig;
    rig.calls.fail_next("ledger.inventory");
    rig.sampler.start();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (rig.sampler.series().size() < 4 && std::chrono::steady_clock::now() < deadline) {
        rig.io.run_one_for(100ms);
        rig.checkouts.add(1);
        rig.requests.observe(0.002);
    }
    rig.stop();
    const auto samples = rig.sampler.series().since(0);
    ASSERT_EQ(samples.size(), 4u);
    EXPECT_FALSE(samples[0].active_holds.has_value());
    EXPECT_FALSE(samples[0].stock_left.has_value());
    for (std::size_t i = 1; i < samples.size(); i++) {
        EXPECT_EQ(samples[i].active_holds, 0u) << "sample " << i;
        ASSERT_TRUE(samples[i].stock_left.has_value()) << "sample " << i;
        EXPECT_GE(samples[i].t_ms, samples[i - 1].t_ms);
    }
    for (const auto& sample : samples) {
        EXPECT_EQ(sample.target_per_s, 25u);
        EXPECT_GT(sample.checkouts_per_s, 0.0);
        EXPECT_DOUBLE_EQ(*sample.p99_ms, 2.5);  // 2 ms lands in the 2.5 ms bucket.
    }
}

TEST(LiveSampler, StopsAtOnceWhenNeverStarted) {
    SamplerRig rig;
    rig.stop();
    EXPECT_EQ(rig.sampler.series().size(), 0u);
}

AdmissionChange change_of(std::string_view body) {
    auto parsed = parse_admission_change(body);
    EXPECT_TRUE(std::holds_alternative<AdmissionChange>(parsed))
        << body << ": " << std::get<std::string>(parsed);
    return std::holds_alternative<AdmissionChange>(parsed) ? std::get<AdmissionChange>(parsed)
                                                           : AdmissionChange{};
}

std::string refusal_of(std::string_view body) {
    auto parsed = parse_admission_change(body);
    EXPECT_TRUE(std::holds_alternative<std::string>(parsed)) << body << " was accepted";
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(AdmissionChange, TakesAPauseARateOrBoth) {
    EXPECT_EQ(change_of(R"({"paused": true})").paused, true);
    EXPECT_FALSE(change_of(R"({"paused": false})").per_second.has_value());
    EXPECT_EQ(change_of(R"({"per_second": 1})").per_second, 1u);
    const AdmissionChange both = change_of(R"({"paused": false, "per_second": 100000})");
    EXPECT_EQ(both.paused, false);
    EXPECT_EQ(both.per_second, limits::admit_per_second_max);
}

TEST(AdmissionChange, RefusesWrongTypesRangesFieldsAndBodies) {
    for (const char* body : {R"({"paused": "yes"})", R"({"paused": 1})", R"({"paused": null})"}) {
        EXPECT_NE(refusal_of(body).find("paused"), std::string::npos) << body;
    }
    for (const char* body :
         {R"({"per_second": 0})", R"({"per_second": -5})", R"({"per_second": 100001})",
          R"({"per_second": 2.5})", R"({"per_second": "50"})", R"({"per_second": true})",
          R"({"per_second": 18446744073709551615})", R"({"per_second": 1e3})"}) {
        EXPECT_NE(refusal_of(body).find("per_second must be an integer from 1 to 100000"),
                  std::string::npos)
            << body;
    }
    EXPECT_NE(refusal_of(R"({"paused": true, "rate": 5})").find("unknown field \"rate\""),
              std::string::npos);
    EXPECT_NE(refusal_of("{}").find("nothing to change"), std::string::npos);
    for (const char* body : {"", "not json", "[true]", "true", R"({"paused": true)"}) {
        EXPECT_EQ(refusal_of(body), "the body must be a JSON object") << body;
    }
}

using FlowCounts = flows::testing_fakes::FlowFixture;

// The live view's checkouts and sales a second come from these counts.
TEST_F(FlowCounts, AcceptedCheckoutsAndPaidOrdersAreCounted) {
    ledger.tickets_left = 1;
    const auto accepted = std::get<flows::CheckoutAccepted>(buy());
    EXPECT_TRUE(std::holds_alternative<flows::SoldOut>(buy()));
    EXPECT_EQ(timings.checkouts.value(), 1u);
    EXPECT_EQ(timings.sales.value(), 0u);
    pay(accepted.payment_session_id, flows::PaymentOutcome::succeeded, "evt_1");
    EXPECT_EQ(timings.sales.value(), 1u);
    pay(accepted.payment_session_id, flows::PaymentOutcome::succeeded, "evt_2");  // A replay.
    EXPECT_EQ(timings.sales.value(), 1u);
    EXPECT_EQ(registry.find_counter("tigerfans_sales_total", "")->value(), 1u);
}

TEST_F(FlowCounts, AFailedPaymentIsNoSale) {
    const auto accepted = std::get<flows::CheckoutAccepted>(buy());
    pay(accepted.payment_session_id, flows::PaymentOutcome::failed, "evt_1");
    EXPECT_EQ(timings.checkouts.value(), 1u);
    EXPECT_EQ(timings.sales.value(), 0u);
}

}  // namespace
}  // namespace tigerfans::admin

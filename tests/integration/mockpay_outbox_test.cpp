// MockPay's outbox on PostgreSQL: adds and removes of many payments share a transaction, an
// event is due for redelivery once its first pause has passed, a removed one never is, a key
// added twice is stored once, and after stop() nothing is written.
#include <map>
#include <string>
#include <vector>

#include "mockpay/outbox.hpp"
#include "pg_test_helpers.hpp"

namespace tigerfans::mockpay {
namespace {

using asio::awaitable;
using std::chrono::seconds;

OutboxEvent event(int n) {
    const std::string key = "evt_test_" + std::to_string(n);
    return {key, "ps_" + std::to_string(n), R"({"event":")" + key + R"(","quote":"\"{,}"})"};
}

class OutboxTest : public testing::PgTest {
protected:
    void SetUp() override {
        ASSERT_TRUE(run([&] { return outbox_.start(); }).ok());
    }

    void TearDown() override {
        run([&]() -> awaitable<int> {
            co_await outbox_.stop();
            co_return 0;
        });
    }

    std::vector<Result<bool>> add_together(const std::vector<OutboxEvent>& events,
                                           seconds first_retry) {
        return run_concurrently<Result<bool>>(
            events.size(), [&](std::size_t i) { return outbox_.add(events[i], first_retry); });
    }

    // The events claimed as due, by key; each key maps to "<psid> <body>". Empty when the
    // claim failed.
    std::map<std::string, std::string> due() {
        return run([&]() -> awaitable<std::map<std::string, std::string>> {
            std::map<std::string, std::string> by_key;
            auto claimed = co_await outbox_.claim_due(100, 30);
            EXPECT_TRUE(claimed.ok());
            if (!claimed.ok()) co_return by_key;
            for (const OutboxEvent& e : *claimed) by_key[e.event_key] = e.psid + " " + e.body;
            co_return by_key;
        });
    }

    Outbox outbox_{io_.get_executor(), database_url_, registry_};
};

TEST_F(OutboxTest, EventsAddedTogetherShareATransactionAndRemovedOnesAreNeverDue) {
    std::vector<OutboxEvent> events;
    for (int n = 0; n < 20; n++) events.push_back(event(n));
    events.push_back(event(3));  // The same key twice: stored once.
    const auto added = add_together(events, seconds(0));
    for (const auto& one : added) EXPECT_TRUE(one.ok());
    ASSERT_TRUE(added[3].ok() && added.back().ok());
    EXPECT_NE(*added[3], *added.back());  // One of the two, whichever came first.
    const metrics::Histogram* sizes = batch_sizes("mockpay_outbox");
    ASSERT_NE(sizes, nullptr);
    EXPECT_LT(sizes->count(), events.size());  // Some events shared a batch.

    const std::vector<std::string> removed = {"evt_test_0", "evt_test_3", "evt_test_19"};
    const auto removals = run_concurrently<Status>(
        removed.size(), [&](std::size_t i) { return outbox_.remove(removed[i]); });
    for (const Status& done : removals) EXPECT_TRUE(done.ok());

    const auto left = due();
    EXPECT_EQ(left.size(), 17u);
    for (const std::string& key : removed) EXPECT_FALSE(left.contains(key)) << key;
    ASSERT_TRUE(left.contains("evt_test_7"));
    EXPECT_EQ(left.at("evt_test_7"), "ps_7 " + event(7).body);  // The exact bytes signed.
    EXPECT_EQ(query_value<int>("SELECT count(*) FROM mockpay_outbox"), 17);
}

TEST_F(OutboxTest, AnEventIsNotDueBeforeItsFirstPause) {
    ASSERT_TRUE(add_together({event(1)}, seconds(3600)).front().ok());
    EXPECT_TRUE(due().empty());
    EXPECT_EQ(query_value<int>("SELECT count(*) FROM mockpay_outbox"), 1);
}

// Only due events that used up their attempts are dropped: one still waiting out its last
// pause stays (it is dropped once due), and one with attempts left is claimed.
TEST_F(OutboxTest, ExhaustedEventsAreDroppedOnceDue) {
    for (const auto& added : add_together({event(1), event(2), event(3)}, seconds(0))) {
        ASSERT_TRUE(added.ok());
    }
    EXPECT_EQ(query_value<int>("WITH u AS (UPDATE mockpay_outbox SET attempts = 30 WHERE "
                               "event_key IN ('evt_test_1', 'evt_test_2') RETURNING 1) "
                               "SELECT count(*) FROM u"),
              2);
    EXPECT_EQ(query_value<int>("WITH u AS (UPDATE mockpay_outbox SET next_attempt_at = now() + "
                               "interval '1 hour' WHERE event_key = 'evt_test_2' RETURNING 1) "
                               "SELECT count(*) FROM u"),
              1);
    const std::vector<std::string> dropped = run([&]() -> awaitable<std::vector<std::string>> {
        std::vector<std::string> keys;
        auto exhausted = co_await outbox_.drop_exhausted(30, 100);
        EXPECT_TRUE(exhausted.ok());
        if (exhausted.ok()) {
            for (const OutboxEvent& e : *exhausted) keys.push_back(e.event_key);
        }
        co_return keys;
    });
    EXPECT_EQ(dropped, std::vector<std::string>{"evt_test_1"});
    // Kept among the dead letters, whole, for the operator; not a payment, so never listed as
    // one.
    EXPECT_EQ(query_value<std::string>("SELECT psid || ' ' || body FROM mockpay_dead_letters "
                                       "WHERE event_key = 'evt_test_1' AND attempts = 30"),
              event(1).psid + " " + event(1).body);
    const std::size_t payments = run([&]() -> awaitable<std::size_t> {
        auto listed = co_await outbox_.dead_payments(10);
        EXPECT_TRUE(listed.ok());
        co_return listed.ok() ? listed->size() : 1;
    });
    EXPECT_EQ(payments, 0u);
    const auto left = due();
    EXPECT_EQ(left.size(), 1u);
    EXPECT_TRUE(left.contains("evt_test_3"));
    EXPECT_EQ(query_value<int>("SELECT count(*) FROM mockpay_outbox"), 2);
    // Made due again, the exhausted event is never claimed for another attempt.
    EXPECT_EQ(query_value<int>("WITH u AS (UPDATE mockpay_outbox SET next_attempt_at = now() "
                               "WHERE event_key = 'evt_test_2' RETURNING 1) "
                               "SELECT count(*) FROM u"),
              1);
    EXPECT_TRUE(due().empty());
}

// An event whose key the outbox holds (the same emit, sent again) is not stored, whether the
// two met in one batch or came one after the other; once the waiting one is removed
// (delivered), the key is stored again.
TEST_F(OutboxTest, AKeyAlreadyWaitingIsNotStoredAgain) {
    const std::vector<OutboxEvent> emits(3, event(1));
    const auto together = add_together(emits, seconds(0));
    int stored = 0;
    for (const auto& added : together) {
        ASSERT_TRUE(added.ok());
        stored += *added ? 1 : 0;
    }
    EXPECT_EQ(stored, 1);
    const auto later = add_together({event(1)}, seconds(0)).front();
    ASSERT_TRUE(later.ok());
    EXPECT_FALSE(*later);
    EXPECT_EQ(query_value<int>("SELECT count(*) FROM mockpay_outbox"), 1);

    ASSERT_TRUE(run([&] { return outbox_.remove("evt_test_1"); }).ok());
    const auto again = add_together({event(1)}, seconds(0)).front();
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(*again);
    EXPECT_EQ(query_value<int>("SELECT count(*) FROM mockpay_outbox"), 1);
}

TEST_F(OutboxTest, AfterStopNothingIsWritten) {
    run([&]() -> awaitable<int> {
        co_await outbox_.stop();
        co_return 0;
    });
    const auto added = add_together({event(1)}, seconds(0));
    ASSERT_FALSE(added.front().ok());
    EXPECT_EQ(added.front().fault(), Fault::shutting_down);
    EXPECT_EQ(query_value<int>("SELECT count(*) FROM mockpay_outbox"), 0);
}

}  // namespace
}  // namespace tigerfans::mockpay

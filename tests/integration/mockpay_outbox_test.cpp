// MockPay's outbox on PostgreSQL: adds and removes of many payments share a transaction, an
// event is due for redelivery once its first pause has passed, a removed one never is, an
// event added twice is stored once, a session's first event is its only payment, and after
// stop() nothing is written.
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

    // Each event's answer: its session's payment. Events are payments unless `outcomes` says
    // otherwise, one per event.
    std::vector<Result<SessionPayment>> add_together(
        const std::vector<OutboxEvent>& events, seconds first_retry,
        const std::vector<PaymentOutcome>& outcomes = {}) {
        return run_concurrently<Result<SessionPayment>>(events.size(), [&](std::size_t i) {
            const PaymentOutcome outcome =
                outcomes.empty() ? PaymentOutcome::succeeded : outcomes.at(i);
            return outbox_.add(events[i], outcome, first_retry);
        });
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
    events.push_back(event(3));  // The same event twice: stored once, each time its own.
    const auto answers = add_together(events, seconds(0));
    for (std::size_t i = 0; i < events.size(); i++) {
        ASSERT_TRUE(answers[i].ok());
        EXPECT_EQ(answers[i]->event_key, events[i].event_key);
    }
    const metrics::Histogram* sizes = batch_sizes("mockpay_outbox");
    ASSERT_NE(sizes, nullptr);
    EXPECT_LT(sizes->count(), events.size());  // Some events shared a batch.

    const std::vector<std::string> removed = {"evt_test_0", "evt_test_3", "evt_test_19"};
    const auto removals = run_concurrently<Status>(removed.size(), [&](std::size_t i) {
        return outbox_.remove(removed[i], "ps_" + removed[i].substr(9), Delivery::taken);
    });
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

// A session is paid once: of its events added together, one enters the outbox and every add
// answers that one; an event of the session added later (another button) enters nothing and
// answers the first too, failures included. The first's own event added again is its own.
TEST_F(OutboxTest, ASessionsFirstEventIsItsOnlyPayment) {
    std::vector<OutboxEvent> events;
    for (int n = 0; n < 6; n++) {
        OutboxEvent of_one = event(n);
        of_one.psid = "ps_paid_once";
        events.push_back(of_one);
    }
    events.push_back(event(50));  // Another session in the same batches.
    const auto answers = add_together(events, seconds(0));
    ASSERT_TRUE(answers.front().ok());
    const std::string first = answers.front()->event_key;
    for (std::size_t i = 0; i + 1 < events.size(); i++) {
        ASSERT_TRUE(answers[i].ok());
        EXPECT_EQ(answers[i]->event_key, first);
        EXPECT_EQ(answers[i]->outcome, PaymentOutcome::succeeded);
    }
    ASSERT_TRUE(answers.back().ok());
    EXPECT_EQ(answers.back()->event_key, "evt_test_50");
    const auto stored = due();
    EXPECT_EQ(stored.size(), 2u);
    EXPECT_TRUE(stored.contains(first));
    EXPECT_TRUE(stored.contains("evt_test_50"));
    EXPECT_EQ(query_value<std::string>(
                  "SELECT event_key || ' ' || outcome FROM mockpay_payments WHERE psid = "
                  "'ps_paid_once'"),
              first + " succeeded");

    OutboxEvent later = event(7);
    later.psid = "ps_paid_once";
    const auto cancel = add_together({later}, seconds(0), {PaymentOutcome::canceled});
    ASSERT_TRUE(cancel.front().ok());
    EXPECT_EQ(cancel.front()->event_key, first);
    EXPECT_EQ(cancel.front()->outcome, PaymentOutcome::succeeded);

    // A failure first: the payment after it pays nothing.
    OutboxEvent failure = event(8);
    failure.psid = "ps_failed_first";
    ASSERT_TRUE(add_together({failure}, seconds(0), {PaymentOutcome::failed}).front().ok());
    OutboxEvent payment = event(9);
    payment.psid = "ps_failed_first";
    const auto paid = add_together({payment}, seconds(0));
    ASSERT_TRUE(paid.front().ok());
    EXPECT_EQ(paid.front()->event_key, "evt_test_8");
    EXPECT_EQ(paid.front()->outcome, PaymentOutcome::failed);
    EXPECT_EQ(query_value<int>("SELECT count(*) FROM mockpay_outbox"), 3);

    // The first's event added again (its removal not yet written) is still its own.
    const auto again = add_together({failure}, seconds(0), {PaymentOutcome::failed});
    ASSERT_TRUE(again.front().ok());
    EXPECT_EQ(again.front()->event_key, "evt_test_8");
    EXPECT_EQ(query_value<int>("SELECT count(*) FROM mockpay_outbox"), 3);
}

// A payment the shop refused for good is undone with its event: the session's next event is
// its payment. A taken event's removal keeps the payment, and a refusal undoes only the
// refused event's own payment.
TEST_F(OutboxTest, ARefusedPaymentLeavesTheSessionUnpaid) {
    ASSERT_TRUE(add_together({event(1), event(2)}, seconds(0)).front().ok());
    OutboxEvent after_taken = event(2);
    after_taken.event_key = "evt_test_2_other";
    const auto remove = [&](const std::string& key, const std::string& psid, Delivery how) {
        return run([&] { return outbox_.remove(key, psid, how); });
    };
    ASSERT_TRUE(remove("evt_test_1", "ps_1", Delivery::refused).ok());
    ASSERT_TRUE(remove("evt_test_2", "ps_2", Delivery::taken).ok());
    ASSERT_TRUE(remove("evt_test_other", "ps_2", Delivery::refused).ok());
    EXPECT_EQ(query_value<int>("SELECT count(*) FROM mockpay_outbox"), 0);

    OutboxEvent second = event(11);
    second.psid = "ps_1";
    const auto paid = add_together({second, after_taken}, seconds(0));
    ASSERT_TRUE(paid[0].ok());
    EXPECT_EQ(paid[0]->event_key, "evt_test_11");
    ASSERT_TRUE(paid[1].ok());
    EXPECT_EQ(paid[1]->event_key, "evt_test_2");
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

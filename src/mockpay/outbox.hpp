// MockPay's outbox in PostgreSQL: every event MockPay emits is written here before its first
// delivery and deleted once the shop took it, so an event survives the process dying in the
// middle of delivering it. What is left is redelivered with growing pauses, as real providers
// do, by whichever server process claims it first (FOR UPDATE SKIP LOCKED).
//
//   mockpay_outbox(event_key pk, psid, body, attempts, next_attempt_at, created_at)
//   mockpay_dead_letters(event_key pk, psid, body, attempts, created_at, gave_up_at): events
//     given up on, which the admin's refund list shows
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "postgres/worker.hpp"
#include "postgres/worker_batcher.hpp"
#include "tigerfans/core/result.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/mockpay/event.hpp"

namespace tigerfans::mockpay {

namespace asio = boost::asio;

// The pause before redelivery attempt n+1 is 2^n seconds, at most this long.
inline constexpr std::int64_t outbox_retry_pause_max_s = 300;

// How long an event stays in the outbox at most: the first background attempt after
// `first_retry`, then one after each pause until `attempts_max` attempts were made.
constexpr std::chrono::seconds outbox_schedule_span(std::chrono::seconds first_retry,
                                                    std::int32_t attempts_max) {
    std::int64_t total_s = first_retry.count();
    for (std::int32_t attempt = 0; attempt + 1 < attempts_max; attempt++) {
        const std::int64_t pause_s = attempt < 62 ? std::int64_t{1} << attempt : INT64_MAX;
        total_s += pause_s < outbox_retry_pause_max_s ? pause_s : outbox_retry_pause_max_s;
    }
    return std::chrono::seconds(total_s);
}

struct OutboxEvent {
    std::string event_key;
    std::string psid;
    std::string body;  // The exact bytes that are signed and posted.
};

// One write of a batch: an event added (`add`) or removed (only its key is used).
struct OutboxChange {
    bool add = false;
    OutboxEvent event;
    std::int64_t first_retry_s = 0;
};

// What a write answers: an add, whether it stored its event; a removal, done.
using OutboxWritten = std::variant<Done, bool>;

class Outbox {
public:
    Outbox(boost::asio::any_io_executor loop, const std::string& database_url,
           metrics::Registry& registry);
    ~Outbox();

    asio::awaitable<Status> start();  // Creates the table when missing.

    // Whether the event was stored: then it is durable once this returns, and its first
    // background attempt comes after `first_retry`, so the emit path delivers it itself
    // meanwhile. An event whose key the outbox holds already (the same emit of its session,
    // sent again) is not.
    asio::awaitable<Result<bool>> add(const OutboxEvent& event, std::chrono::seconds first_retry);

    // The shop answered: nothing more to deliver.
    asio::awaitable<Status> remove(const std::string& event_key);

    // Adds and removes after this fail with shutting_down; completes when the queued ones ran.
    asio::awaitable<void> stop();

    // Up to `limit` events whose next attempt is due, each rescheduled (attempts + 1, the
    // pause doubling up to a ceiling) as it is claimed, so a crash mid-delivery only delays it.
    // Events with `attempts_max` attempts made are never claimed again: drop_exhausted's.
    asio::awaitable<Result<std::vector<OutboxEvent>>> claim_due(std::int64_t limit,
                                                                std::int32_t attempts_max);

    // Up to `limit` due events given up on after `attempts_max` attempts; moved to the dead
    // letters and returned for the operator's log.
    asio::awaitable<Result<std::vector<OutboxEvent>>> drop_exhausted(std::int32_t attempts_max,
                                                                     std::int64_t limit);

    // The latest `limit` payments (succeeded events) given up on, newest first.
    asio::awaitable<Result<std::vector<UndeliveredEvent>>> dead_payments(std::int64_t limit);

private:
    postgres::Worker& worker();  // The first connection, for the table and the redelivery loop.

    std::vector<std::unique_ptr<postgres::Worker>> workers_;
    postgres::WorkerBatcher<OutboxChange, OutboxWritten> changes_;
};

}  // namespace tigerfans::mockpay

// The one batching shape every store uses (docs/ARCHITECTURE.md §2): callers co_await a submission
// of one or more items; while a batch is in flight new submissions queue; when it completes,
// everything queued (up to the store's limit) goes out as the next batch. No timers: at low load
// a batch is one submission and latency is one round trip; at high load batches grow by
// themselves. Loop thread only.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/async.hpp"
#include "tigerfans/core/result.hpp"

namespace tigerfans {

struct BatcherObserver {
    // Called once per batch with its item count; metrics plug in here.
    std::function<void(std::size_t items)> on_batch;
};

template <typename Item, typename Outcome>
class AutoBatcher {
public:
    // Runs one batch: returns exactly one outcome per item, in order, or a fault for all of them.
    using Execute = std::function<asio::awaitable<Result<std::vector<Outcome>>>(std::span<Item>)>;

    AutoBatcher(asio::any_io_executor executor, Execute execute, std::size_t batch_items_max,
                std::size_t queue_items_max, BatcherObserver observer = {})
        : executor_(std::move(executor)),
          execute_(std::move(execute)),
          batch_items_max_(batch_items_max),
          queue_items_max_(queue_items_max),
          observer_(std::move(observer)),
          idle_signal_(executor_) {
        TF_ASSERT_GT(batch_items_max_, 0u);
        TF_ASSERT_GE(queue_items_max_, batch_items_max_);
        idle_signal_.expires_at(asio::steady_timer::time_point::max());
    }

    AutoBatcher(const AutoBatcher&) = delete;
    AutoBatcher& operator=(const AutoBatcher&) = delete;

    // Items of one submission always travel in the same batch, in the order given.
    asio::awaitable<Result<std::vector<Outcome>>> submit(std::vector<Item> items) {
        TF_ASSERT(!items.empty());
        if (stopped_) co_return Fault::shutting_down;
        if (queued_items_.size() + items.size() > queue_items_max_) co_return Fault::overloaded;
        co_return co_await await_completion<Result<std::vector<Outcome>>>(
            [&](Completion<Result<std::vector<Outcome>>> done) {
                enqueue(std::move(items), std::move(done));
            });
    }

    asio::awaitable<Result<Outcome>> submit_one(Item item) {
        std::vector<Item> items;
        items.push_back(std::move(item));
        auto outcomes = co_await submit(std::move(items));
        if (!outcomes) co_return outcomes.fault();
        TF_ASSERT_EQ(outcomes->size(), 1u);
        co_return std::move(outcomes->front());
    }

    // New submissions fail with shutting_down; the ones already queued still run.
    void stop() { stopped_ = true; }

    // Completes when nothing is queued or in flight.
    asio::awaitable<void> drain() {
        while (running_) {
            boost::system::error_code ignored;
            co_await idle_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
    }

    std::size_t queued_items() const { return queued_items_.size(); }
    bool in_flight() const { return running_; }

private:
    struct Submission {
        std::size_t item_count;
        Completion<Result<std::vector<Outcome>>> done;
    };

    void enqueue(std::vector<Item>&& items, Completion<Result<std::vector<Outcome>>>&& done) {
        for (auto& item : items) queued_items_.push_back(std::move(item));
        submissions_.push_back(Submission{items.size(), std::move(done)});
        if (running_) return;
        running_ = true;
        asio::co_spawn(executor_, run(), asio::detached);
    }

    asio::awaitable<void> run() {
        while (!submissions_.empty()) {
            std::size_t submission_count = take_batch();
            if (observer_.on_batch) observer_.on_batch(batch_items_.size());
            Result<std::vector<Outcome>> outcomes =
                co_await execute_(std::span<Item>(batch_items_));
            finish_batch(submission_count, std::move(outcomes));
        }
        running_ = false;
        idle_signal_.cancel();
    }

    // Moves whole submissions into batch_items_ until the limit; at least one submission goes,
    // even one larger than the limit (the executor splits what the store cannot take at once).
    std::size_t take_batch() {
        batch_items_.clear();
        std::size_t submission_count = 0;
        std::size_t item_count = 0;
        for (const Submission& submission : submissions_) {
            if (submission_count > 0 && item_count + submission.item_count > batch_items_max_) {
                break;
            }
            item_count += submission.item_count;
            submission_count++;
        }
        for (std::size_t i = 0; i < item_count; i++) {
            batch_items_.push_back(std::move(queued_items_.front()));
            queued_items_.pop_front();
        }
        TF_ASSERT_GT(submission_count, 0u);
        return submission_count;
    }

    void finish_batch(std::size_t submission_count, Result<std::vector<Outcome>> outcomes) {
        const bool batch_ok = outcomes.ok();
        // One outcome per item, in order, is the Execute's contract: anything else would hand
        // callers each other's results.
        if (batch_ok) {
            TF_ASSERT_MSG(outcomes->size() == batch_items_.size(), "a batch of ",
                          batch_items_.size(), " items got ", outcomes->size(), " outcomes");
        }
        std::size_t next = 0;
        for (std::size_t i = 0; i < submission_count; i++) {
            Submission submission = std::move(submissions_.front());
            submissions_.pop_front();
            if (!batch_ok) {
                complete_later<Result<std::vector<Outcome>>>(executor_, std::move(submission.done),
                                                             outcomes.fault());
                continue;
            }
            std::vector<Outcome> mine;
            mine.reserve(submission.item_count);
            for (std::size_t j = 0; j < submission.item_count; j++) {
                mine.push_back(std::move((*outcomes)[next++]));
            }
            complete_later<Result<std::vector<Outcome>>>(executor_, std::move(submission.done),
                                                         std::move(mine));
        }
    }

    asio::any_io_executor executor_;
    Execute execute_;
    std::size_t batch_items_max_;
    std::size_t queue_items_max_;
    BatcherObserver observer_;
    asio::steady_timer idle_signal_;

    std::deque<Item> queued_items_;
    std::deque<Submission> submissions_;
    std::vector<Item> batch_items_;  // Reused: its capacity stays after the first big batch.
    bool running_ = false;
    bool stopped_ = false;
};

}  // namespace tigerfans

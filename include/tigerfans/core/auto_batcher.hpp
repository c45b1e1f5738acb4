// The one batching shape every store uses (docs/ARCHITECTURE.md §2): callers co_await a submission
// of one or more items; up to `in_flight_max` batches run at once (one unless the store says
// more); while that many are in flight new submissions queue, and when any completes,
// everything queued (up to the store's limit) goes out as the next batch. A batch starts in a
// later turn of the loop than the submission that wakes the batcher, so the submissions made in
// the same turn leave together. No timers: at low load a batch is one submission and latency is
// one round trip; at high load batches grow by themselves. Loop thread only.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
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
    // With `in_flight_max` above one it must cope with that many batches running at once.
    using Execute = std::function<asio::awaitable<Result<std::vector<Outcome>>>(std::span<Item>)>;

    AutoBatcher(asio::any_io_executor executor, Execute execute, std::size_t batch_items_max,
                std::size_t queue_items_max, BatcherObserver observer = {},
                std::size_t in_flight_max = 1)
        : executor_(std::move(executor)),
          execute_(std::move(execute)),
          batch_items_max_(batch_items_max),
          queue_items_max_(queue_items_max),
          in_flight_max_(in_flight_max),
          observer_(std::move(observer)),
          idle_signal_(executor_) {
        TF_ASSERT_GT(batch_items_max_, 0u);
        TF_ASSERT_GE(queue_items_max_, batch_items_max_);
        TF_ASSERT_GT(in_flight_max_, 0u);
        idle_signal_.expires_at(asio::steady_timer::time_point::max());
    }

    AutoBatcher(const AutoBatcher&) = delete;
    AutoBatcher& operator=(const AutoBatcher&) = delete;

    // Items of one submission always travel in the same batch, in the order given.
    asio::awaitable<Result<std::vector<Outcome>>> submit(std::vector<Item> items) {
        TF_ASSERT(!items.empty());
        if (auto refused = refusal(items.size())) co_return *refused;
        co_return co_await await_completion<Result<std::vector<Outcome>>>(
            [&](Completion<Result<std::vector<Outcome>>> done) {
                for (auto& item : items) queued_items_.push_back(std::move(item));
                enqueue(items.size(), std::move(done));
            });
    }

    // One item, queued without the vector and the coroutine that submit() would add.
    asio::awaitable<Result<Outcome>> submit_one(Item item) {
        if (auto refused = refusal(1)) co_return *refused;
        auto outcomes = co_await await_completion<Result<std::vector<Outcome>>>(
            [&](Completion<Result<std::vector<Outcome>>> done) {
                queued_items_.push_back(std::move(item));
                enqueue(1, std::move(done));
            });
        if (!outcomes) co_return outcomes.fault();
        TF_ASSERT_EQ(outcomes->size(), 1u);
        co_return std::move(outcomes->front());
    }

    // New submissions fail with shutting_down; the ones already queued still run.
    void stop() { stopped_ = true; }

    // Completes when nothing is queued or in flight.
    asio::awaitable<void> drain() {
        while (busy()) {
            boost::system::error_code ignored;
            co_await idle_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
    }

    std::size_t queued_items() const { return queued_items_.size(); }
    bool in_flight() const { return lanes_ > 0; }
    std::size_t batches_in_flight() const { return lanes_; }

private:
    struct Submission {
        std::size_t item_count;
        Completion<Result<std::vector<Outcome>>> done;
    };

    // One batch's items and the submissions they came from, owned by the lane running it. Kept
    // in a pool between batches, so their capacity stays after the first big batch.
    struct Batch {
        std::vector<Item> items;
        std::vector<Submission> submissions;
    };

    bool busy() const { return lanes_ > 0 || launch_posted_; }

    std::optional<Fault> refusal(std::size_t item_count) const {
        if (stopped_) return Fault::shutting_down;
        if (queued_items_.size() + item_count > queue_items_max_) return Fault::overloaded;
        return std::nullopt;
    }

    // The submission's items are queued already; its completion follows them.
    void enqueue(std::size_t item_count, Completion<Result<std::vector<Outcome>>>&& done) {
        submissions_.push_back(Submission{item_count, std::move(done)});
        launch_soon();
    }

    // Another batch may leave: a lane starts a turn later unless one is on its way already.
    void launch_soon() {
        if (launch_posted_ || lanes_ >= in_flight_max_) return;
        launch_posted_ = true;
        asio::post(executor_, [this] { launch(); });
    }

    // Runs a turn after the wake-up: a new lane takes whatever queued since. Nothing is left to
    // take when a lane that finished meanwhile took it.
    void launch() {
        launch_posted_ = false;
        if (submissions_.empty() || lanes_ >= in_flight_max_) {
            signal_if_idle();
            return;
        }
        lanes_++;
        asio::co_spawn(executor_, run_lane(), asio::detached);
    }

    // One lane runs one batch at a time and takes the next while anything is queued.
    asio::awaitable<void> run_lane() {
        Batch batch = spare_batch();
        while (!submissions_.empty()) {
            take_batch(batch);
            if (!submissions_.empty()) launch_soon();  // More than one batch is queued.
            if (observer_.on_batch) observer_.on_batch(batch.items.size());
            Result<std::vector<Outcome>> outcomes = co_await execute_(std::span<Item>(batch.items));
            finish_batch(batch, std::move(outcomes));
        }
        spare_batches_.push_back(std::move(batch));
        lanes_--;
        signal_if_idle();
    }

    Batch spare_batch() {
        if (spare_batches_.empty()) return Batch{};
        Batch batch = std::move(spare_batches_.back());
        spare_batches_.pop_back();
        return batch;
    }

    void signal_if_idle() {
        if (!busy()) idle_signal_.cancel();
    }

    // Moves whole submissions into `batch` until the limit; at least one submission goes, even
    // one larger than the limit (the executor splits what the store cannot take at once).
    void take_batch(Batch& batch) {
        batch.items.clear();
        batch.submissions.clear();
        std::size_t item_count = 0;
        while (!submissions_.empty()) {
            const std::size_t count = submissions_.front().item_count;
            if (!batch.submissions.empty() && item_count + count > batch_items_max_) break;
            item_count += count;
            batch.submissions.push_back(std::move(submissions_.front()));
            submissions_.pop_front();
        }
        for (std::size_t i = 0; i < item_count; i++) {
            batch.items.push_back(std::move(queued_items_.front()));
            queued_items_.pop_front();
        }
        TF_ASSERT(!batch.submissions.empty());
    }

    void finish_batch(Batch& batch, Result<std::vector<Outcome>> outcomes) {
        const bool batch_ok = outcomes.ok();
        // One outcome per item, in order, is the Execute's contract: anything else would hand
        // callers each other's results.
        if (batch_ok) {
            TF_ASSERT_MSG(outcomes->size() == batch.items.size(), "a batch of ", batch.items.size(),
                          " items got ", outcomes->size(), " outcomes");
        }
        std::size_t next = 0;
        for (Submission& submission : batch.submissions) {
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
        batch.submissions.clear();
    }

    asio::any_io_executor executor_;
    Execute execute_;
    std::size_t batch_items_max_;
    std::size_t queue_items_max_;
    std::size_t in_flight_max_;
    BatcherObserver observer_;
    asio::steady_timer idle_signal_;

    std::deque<Item> queued_items_;
    std::deque<Submission> submissions_;
    std::vector<Batch> spare_batches_;
    std::size_t lanes_ = 0;       // Batches in flight, each run by its own coroutine.
    bool launch_posted_ = false;  // A launch() is on its way: the queue will be taken.
    bool stopped_ = false;
};

}  // namespace tigerfans

// Several automatic batchers side by side, one per database connection. Each lane keeps one
// batch in flight (core/auto_batcher.hpp), so N lanes keep up to N batches in flight: one
// commits while the next is already on its way. A submission joins an idle lane when there is
// one (at low load a caller waits one round trip, as with a single lane), else the lane with
// the fewest queued items. Loop thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/auto_batcher.hpp"

namespace tigerfans::postgres {

struct LaneLoad {
    bool in_flight = false;
    std::size_t queued_items = 0;
};

// The lane a new submission joins: the first idle one, else the first of the least queued.
std::size_t choose_lane(std::span<const LaneLoad> lanes);

template <typename Item, typename Outcome>
class BatcherLanes {
public:
    using Batcher = AutoBatcher<Item, Outcome>;
    using Execute = typename Batcher::Execute;

    // One lane per execute. `queue_items_max` bounds the queued items of all lanes together.
    BatcherLanes(asio::any_io_executor executor, std::vector<Execute> executes,
                 std::size_t batch_items_max, std::size_t queue_items_max,
                 const BatcherObserver& observer = {}) {
        TF_ASSERT(!executes.empty());
        const std::size_t lane_queue_items_max = queue_items_max / executes.size();
        for (Execute& execute : executes) {
            lanes_.push_back(std::make_unique<Batcher>(
                executor, std::move(execute), batch_items_max, lane_queue_items_max, observer));
        }
    }

    // The lane is chosen when the submission starts, from the lanes' state at that moment.
    asio::awaitable<Result<Outcome>> submit_one(Item item) {
        Batcher& lane = *lanes_[next_lane()];
        co_return co_await lane.submit_one(std::move(item));
    }

    // New submissions fail with shutting_down; the ones already queued on any lane still run.
    void stop() {
        for (auto& lane : lanes_) lane->stop();
    }

    // Completes when no lane has anything queued or in flight.
    asio::awaitable<void> drain() {
        for (auto& lane : lanes_) co_await lane->drain();
    }

    std::size_t lane_count() const { return lanes_.size(); }

private:
    std::size_t next_lane() const {
        std::vector<LaneLoad> loads;
        loads.reserve(lanes_.size());
        for (const auto& lane : lanes_) loads.push_back({lane->in_flight(), lane->queued_items()});
        return choose_lane(loads);
    }

    std::vector<std::unique_ptr<Batcher>> lanes_;
};

}  // namespace tigerfans::postgres

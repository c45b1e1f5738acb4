// The workers (connections) a store's batches run on. A batch takes an idle worker for as long
// as it runs and gives it back when it ends: the first idle one in the order given, so at low
// load every batch runs on the first worker. The batcher in front keeps at most as many batches
// in flight as there are workers, so a batch always finds one idle. Loop thread only.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::postgres {

template <typename W>
class WorkerPool {
public:
    // One worker, taken until this is destroyed.
    class Lease {
    public:
        Lease(Lease&& other) noexcept
            : pool_(std::exchange(other.pool_, nullptr)), index_(other.index_) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (pool_ != nullptr) pool_->give_back(index_);
        }

        W& worker() const { return *pool_->workers_[index_]; }

    private:
        friend class WorkerPool;
        Lease(WorkerPool& pool, std::size_t index) : pool_(&pool), index_(index) {}

        WorkerPool* pool_;
        std::size_t index_;
    };

    explicit WorkerPool(std::vector<W*> workers)
        : workers_(std::move(workers)), busy_(workers_.size(), false) {
        TF_ASSERT(!workers_.empty());
    }

    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // The first idle worker. Taking one when all are busy is a bug of the caller.
    Lease take() {
        TF_ASSERT_MSG(idle_ > 0, "all ", workers_.size(), " workers are busy");
        std::size_t index = 0;
        while (busy_[index]) index++;
        busy_[index] = true;
        idle_--;
        return Lease(*this, index);
    }

    std::size_t size() const { return workers_.size(); }
    std::size_t idle() const { return idle_; }

private:
    void give_back(std::size_t index) {
        TF_ASSERT(busy_[index]);
        busy_[index] = false;
        idle_++;
    }

    std::vector<W*> workers_;
    std::vector<bool> busy_;
    std::size_t idle_ = workers_.size();
};

}  // namespace tigerfans::postgres

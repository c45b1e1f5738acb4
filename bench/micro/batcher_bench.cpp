// The automatic batcher on an io_context with a backend that answers at once: what one
// submission costs (the coroutine hand-off, queueing, the batch loop and the posted completion)
// when `submitters` coroutines submit one item each and the batcher gathers them. The first
// submission wakes the batcher, whose batch starts a turn later: by then the others, spawned
// in the same turn, have queued, and all leave together.
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <span>
#include <vector>

#include "tigerfans/core/auto_batcher.hpp"

namespace {

using namespace tigerfans;
using EchoBatcher = AutoBatcher<int, int>;

constexpr std::size_t batch_items_max = 8189;
constexpr std::size_t queue_items_max = 100'000;

// The trivial backend: every item's outcome is the item itself, answered in a later turn of
// the loop as a store's reply would be (so submissions made meanwhile gather in the next batch).
asio::awaitable<Result<std::vector<int>>> echo_batch(std::span<int> items) {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_return std::vector<int>(items.begin(), items.end());
}

asio::awaitable<void> submit_one(EchoBatcher& batcher, int item, std::size_t& answered) {
    const Result<int> outcome = co_await batcher.submit_one(item);
    if (outcome && *outcome == item) answered++;
}

void submit(benchmark::State& state) {
    const auto submitters = static_cast<std::size_t>(state.range(0));
    asio::io_context io;
    std::size_t batches = 0;
    EchoBatcher batcher(io.get_executor(), echo_batch, batch_items_max, queue_items_max,
                        BatcherObserver{[&batches](std::size_t) { batches++; }});
    for (auto _ : state) {
        std::size_t answered = 0;
        for (std::size_t i = 0; i < submitters; i++) {
            asio::co_spawn(io, submit_one(batcher, static_cast<int>(i), answered), asio::detached);
        }
        io.run();
        io.restart();
        if (answered != submitters) state.SkipWithError("a submission was not answered");
    }
    const auto items = static_cast<double>(state.iterations()) * static_cast<double>(submitters);
    state.SetItemsProcessed(static_cast<std::int64_t>(items));
    state.counters["items_per_batch"] = batches > 0 ? items / static_cast<double>(batches) : 0;
}
BENCHMARK(submit)->ArgName("submitters")->Arg(1)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace

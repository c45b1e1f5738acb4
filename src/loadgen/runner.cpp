// Bounded-concurrency call runner: `concurrency` workers pull indices until all are taken.
#include "loadgen/runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace tigerfans::loadgen {

namespace {
constexpr std::chrono::milliseconds progress_interval{500};
}  // namespace

double run_calls(asio::io_context& io, int total, int concurrency, const Call& call,
                 const Progress& progress) {
    int next = 0;
    int finished = 0;
    const auto worker = [&]() -> asio::awaitable<void> {
        while (next < total) {
            const int index = next++;
            co_await call(index);
            finished++;
        }
    };
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < std::min(concurrency, total); i++) {
        asio::co_spawn(io, worker(), asio::detached);
    }
    asio::steady_timer ticker(io);
    std::function<void()> tick = [&] {
        if (progress) progress(finished, total);
        if (finished >= total) return;
        ticker.expires_after(progress_interval);
        ticker.async_wait([&](boost::system::error_code error) {
            if (!error) tick();
        });
    };
    if (progress) tick();
    io.restart();
    while (finished < total && io.run_one() > 0) {
    }
    ticker.cancel();
    if (progress) progress(finished, total);
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    io.restart();
    io.poll();
    return wall_s;
}

}  // namespace tigerfans::loadgen

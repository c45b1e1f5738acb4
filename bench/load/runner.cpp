// Bounded-concurrency call runner: `concurrency` workers, one connection each, pull indices
// until all are taken.
#include "load/runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <stdexcept>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::loadgen {

namespace {
constexpr std::chrono::milliseconds progress_interval{500};
}  // namespace

tcp::endpoint resolve(const Target& target) {
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code error;
    const auto results = resolver.resolve(target.host, std::to_string(target.port), error);
    if (error || results.empty()) {
        throw std::runtime_error("cannot resolve " + target.host + ": " + error.message());
    }
    return results.begin()->endpoint();
}

double run_calls(asio::io_context& io, const RunOptions& options, const Call& call,
                 const Progress& progress) {
    TF_ASSERT(options.concurrency > 0);
    TimeoutSweep sweep(io, options.request_timeout);
    std::deque<Connection> connections;
    int next = 0;
    int finished = 0;
    const auto worker = [&](Connection& connection) -> asio::awaitable<void> {
        while (next < options.total) {
            const int index = next++;
            co_await call(index, connection);
            finished++;
        }
    };
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < std::min(options.concurrency, options.total); i++) {
        Connection& connection = connections.emplace_back(io, options.server, sweep);
        asio::co_spawn(io, worker(connection), asio::detached);
    }
    asio::steady_timer ticker(io);
    std::function<void()> tick = [&] {
        if (progress) progress(finished, options.total);
        if (finished >= options.total) return;
        ticker.expires_after(progress_interval);
        ticker.async_wait([&](boost::system::error_code error) {
            if (!error) tick();
        });
    };
    if (progress) tick();
    io.restart();
    while (finished < options.total && io.run_one() > 0) {
    }
    ticker.cancel();
    if (progress) progress(finished, options.total);
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    io.restart();
    io.poll();
    return wall_s;
}

}  // namespace tigerfans::loadgen

// Shared set-up for the Redis session store's integration tests: a real redis-server started by
// the harness, a loop, a metrics registry and the store under test, plus helpers to run many
// store calls at once and to wait for a condition while the loop keeps running.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sessions/redis/store.hpp"
#include "support/redis_server.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::sessions::redis {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A regression must fail a test, not hang it: every wait below gives up after this long.
inline constexpr std::chrono::milliseconds call_deadline_ms{30'000};

// Runs the loop one handler at a time until `ready()` holds or the timeout passes.
template <typename Ready>
bool run_until(asio::io_context& io, Ready ready, std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (!ready()) {
        if (Clock::now() >= deadline) return false;
        if (io.run_one_for(10ms) == 0 && io.stopped()) {
            io.restart();  // Out of work for now: timers or other threads may add some.
            std::this_thread::sleep_for(1ms);
        }
    }
    return true;
}

// Completions in the order they happened, and each caller's result by index (nullopt when it
// did not complete before the deadline).
template <typename T>
struct Outcomes {
    std::vector<std::optional<T>> results;
    std::vector<std::size_t> completion_order;
};

// Starts make(0) .. make(count - 1) in that order, all at once, without running the loop yet.
template <typename Make>
auto spawn_all(asio::io_context& io, std::size_t count, Make make) {
    using T = typename decltype(make(std::size_t{0}))::value_type;
    auto outcomes = std::make_shared<Outcomes<T>>();  // Late completions must find it alive.
    outcomes->results.resize(count);
    for (std::size_t i = 0; i < count; i++) {
        asio::co_spawn(io, make(i), [outcomes, i](std::exception_ptr error, T value) {
            if (!error) outcomes->results[i].emplace(std::move(value));
            outcomes->completion_order.push_back(i);
        });
    }
    io.restart();
    return outcomes;
}

template <typename T>
bool all_completed(asio::io_context& io, const std::shared_ptr<Outcomes<T>>& outcomes,
                   std::chrono::milliseconds timeout = call_deadline_ms) {
    const std::size_t count = outcomes->results.size();
    return run_until(
        io, [&] { return outcomes->completion_order.size() == count; }, timeout);
}

// spawn_all, then runs the loop until every call completed or the deadline passed.
template <typename Make>
auto run_concurrently(asio::io_context& io, std::size_t count, Make make) {
    auto outcomes = spawn_all(io, count, std::move(make));
    all_completed(io, outcomes);
    return *outcomes;
}

inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// A session whose fields all derive from `n`, so a mix-up between callers shows.
inline PaymentSession numbered_session(int n, std::int64_t created_at_us) {
    PaymentSession session;
    session.psid = "ps-" + std::to_string(n);
    session.order_id = "order-" + std::to_string(n);
    session.cls = n % 2 == 0 ? TicketClass::a : TicketClass::b;
    session.customer_email = "fan" + std::to_string(n) + "@example.com";
    session.ticket_hold_id = make_u128(static_cast<std::uint64_t>(n), 1);
    session.goodie_hold_id = make_u128(static_cast<std::uint64_t>(n), 2);
    session.goodie_held = n % 3 == 0;
    session.amount_cents = price_cents(session.cls);
    session.currency = "eur";
    session.created_at_us = created_at_us;
    return session;
}

// Short timeouts so that fault tests finish quickly; the production defaults are 2 s.
inline ClientOptions quick_options() {
    ClientOptions options;
    options.command_timeout_ms = 400;
    options.connect_timeout_ms = 400;
    options.stop_drain_timeout_ms = 1'000;
    return options;
}

// The integer of a raw RESP integer reply such as ":42\r\n"; nullopt for anything else.
inline std::optional<long long> raw_integer(const std::string& reply) {
    if (reply.size() < 2 || reply[0] != ':') return std::nullopt;
    return std::stoll(reply.substr(1));
}

class RedisStoreTest : public ::testing::Test {
protected:
    explicit RedisStoreTest(std::uint16_t tcp_port = 0) : server_(tcp_port) {}

    // Runs one call to completion; throws (failing the test) if it hangs.
    template <typename MakeAwaitable>
    auto run_async(MakeAwaitable make) {
        auto outcome = run_concurrently(io_, 1, [&](std::size_t) { return make(); });
        if (!outcome.results.front()) throw std::runtime_error("a store call never completed");
        return std::move(*outcome.results.front());
    }

    void TearDown() override {
        if (store_) stop_store();
    }

    void stop_store() {
        run_async([this]() -> asio::awaitable<int> {
            co_await store_->stop();
            co_return 0;
        });
    }

    // Opens and starts the store on the harness' unix socket (production timeouts by default).
    void open(ClientOptions options = {}) {
        Endpoint endpoint = parse_url(server_.unix_url()).endpoint.value();
        store_ = make_store(io_.get_executor(), std::move(endpoint), options, registry_);
        ASSERT_TRUE(run_async([&] { return store_->start(); }).ok());
    }

    bool healthy() {
        return run_async([&] { return store_->healthy(); });
    }

    bool wait_healthy(bool wanted, std::chrono::milliseconds timeout) {
        return run_until(
            io_, [&] { return healthy() == wanted; }, timeout);
    }

    const metrics::Histogram& histogram(std::string_view name) const {
        const metrics::Histogram* found = registry_.find_histogram(name, "");
        EXPECT_NE(found, nullptr) << name;
        return *found;
    }

    std::uint64_t counter(std::string_view name, std::string_view labels = "") const {
        const metrics::Counter* found = registry_.find_counter(name, labels);
        return found == nullptr ? 0 : found->value();
    }

    testing::RedisServer server_;
    asio::io_context io_;
    metrics::Registry registry_;
    std::unique_ptr<SessionStore> store_;
};

}  // namespace tigerfans::sessions::redis

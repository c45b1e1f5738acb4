// What both checkouts undo when they do not accept.
#include "flows/checkout_undo.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <utility>

#include "tigerfans/core/limits.hpp"

namespace tigerfans::flows {

namespace {

asio::awaitable<void> retry_undo(Services& services, std::string what, UndoCall undo,
                                 std::int64_t until_us) {
    const BackgroundTasks& background = *services.background;
    asio::steady_timer pause_timer(co_await asio::this_coro::executor);
    std::chrono::milliseconds pause{limits::undo_retry_pause_min_ms};
    for (int attempt = 1;; attempt++) {
        pause_timer.expires_after(pause);
        boost::system::error_code ignored;
        co_await pause_timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        if (background.stopped()) {
            spdlog::debug("checkout: shutting down; {} is left to its time", what);
            co_return;
        }
        if (services.steady_us() >= until_us) {
            spdlog::warn("checkout: {} not undone while retried; it ends by its time", what);
            co_return;
        }
        Status undone = co_await undo();
        if (undone) {
            spdlog::info("checkout: {} undone at retry {}", what, attempt);
            co_return;
        }
        pause = std::min(pause * 2, std::chrono::milliseconds(limits::undo_retry_pause_max_ms));
    }
}

}  // namespace

asio::awaitable<void> forget_session(Services& services, const std::string& psid) {
    Status removed =
        co_await timed(services.timings.session_remove, services.sessions.remove(psid));
    if (!removed) spdlog::warn("checkout: session {} not removed; its TTL will", psid);
}

bool holds_answered_late(const Services& services, std::int64_t began_us) {
    const std::int64_t answered_after_us = services.steady_us() - began_us;
    if (answered_after_us <= std::int64_t{limits::hold_answer_late_s} * 1'000'000) return false;
    spdlog::warn("checkout: the ledger answered a hold {} s after the checkout began; given back",
                 answered_after_us / 1'000'000);
    return true;
}

void undo_later(Services& services, std::string what, UndoCall undo, std::int64_t until_us) {
    until_us =
        std::min(until_us, services.steady_us() + std::int64_t{limits::undo_retry_for_ms} * 1'000);
    const bool retrying =
        services.background != nullptr &&
        services.background->try_run(retry_undo(services, what, std::move(undo), until_us));
    if (!retrying) spdlog::warn("checkout: {} not retried; it ends by its time", what);
}

}  // namespace tigerfans::flows

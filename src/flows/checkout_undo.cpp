// What both checkouts undo when they do not accept.
#include "flows/checkout_undo.hpp"

#include <spdlog/spdlog.h>

#include "tigerfans/core/limits.hpp"

namespace tigerfans::flows {

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

}  // namespace tigerfans::flows

// What both checkouts undo when they do not accept.
#include "flows/checkout_undo.hpp"

#include <spdlog/spdlog.h>

namespace tigerfans::flows {

asio::awaitable<void> forget_session(Services& services, const std::string& psid) {
    Status removed =
        co_await timed(services.timings.session_remove, services.sessions.remove(psid));
    if (!removed) spdlog::warn("checkout: session {} not removed; its TTL will", psid);
}

}  // namespace tigerfans::flows

// What both checkouts (classes and seats) undo when they do not accept: the payment session
// that may have been written.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "tigerfans/flows/services.hpp"

namespace tigerfans::flows {

// Removes the session `psid` of a checkout that is not accepted (its holds not made, or being
// given back): no fan was given its id, so only its TTL would otherwise remove it. A write that
// answered a fault may still have landed, so this follows those too. A failed removal is logged.
asio::awaitable<void> forget_session(Services& services, const std::string& psid);

}  // namespace tigerfans::flows

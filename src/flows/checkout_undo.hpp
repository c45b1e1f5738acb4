// What both checkouts (classes and seats) undo when they do not accept: the payment session
// that may have been written, and holds the ledger answered too late.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "tigerfans/flows/services.hpp"

namespace tigerfans::flows {

// Removes the session `psid` of a checkout that is not accepted (its holds not made, or being
// given back): no fan was given its id, so only its TTL would otherwise remove it. A write that
// answered a fault may still have landed, so this follows those too. A failed removal is logged.
asio::awaitable<void> forget_session(Services& services, const std::string& psid);

// Whether the holds of a checkout that began at `began_us` (services.steady_us, before its
// email's slot was claimed) were answered too late to keep (limits::hold_answer_late_s): the
// slot's and the session's time may have run from before the ledger applied the holds, whose
// time starts then, so both could end while the holds still count (a second checkout of the
// email would pass its limit; a payment would find no session). Logged when so; the checkout
// then gives everything back and answers a timeout.
bool holds_answered_late(const Services& services, std::int64_t began_us);

}  // namespace tigerfans::flows

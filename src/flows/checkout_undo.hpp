// What both checkouts (classes and seats) undo when they do not accept: the payment session
// that may have been written, and holds the ledger answered too late.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include "tigerfans/core/result.hpp"
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

// A store call that undoes part of a checkout (an idempotency key's release, an email slot's
// freeing). Each is safe to repeat, and does nothing where what it undoes never landed.
using UndoCall = std::function<asio::awaitable<Status>()>;

// Tries `undo` again in services.background, after a pause, when it failed: the store lost the
// answer of the call it undoes, and is likely still reconnecting. Retried until the store
// takes it, until `until_us` (services.steady_us) when what it undoes ends by its own time
// (limits::undo_retry_for_ms at most), or until the shutdown stops the background. Returns at once;
// `what` names it in the log. Without a background, or without room in it, the undo is logged and
// left to that time.
void undo_later(Services& services, std::string what, UndoCall undo, std::int64_t until_us);

}  // namespace tigerfans::flows

// Tickets per email address (TICKETS_PER_EMAIL): checkout claims a slot for its order before
// the ledger hold and frees it when no hold comes of it; the webhook keeps a paid order's slot
// for good and frees an unpaid one's. The slots live in the session store
// (SessionStore::claim_email_slot). With the limit at 0 none of this touches a store.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "tigerfans/core/result.hpp"
#include "tigerfans/flows/services.hpp"

namespace tigerfans::flows {

// The address as it is counted: trimmed of blanks and lower-cased (ASCII), so "Fan@X.org " and
// "fan@x.org" share their slots.
std::string normalize_email(std::string_view email);

// How long a held ticket's slot counts: as long as a payment may still turn it into a sold
// ticket, the reservation TTL plus the session's margin (a payment in the margin books late).
std::uint64_t held_slot_ms(const config::Config& config);

// True when the order got a slot of the email (always, with no limit); false at the limit.
asio::awaitable<Result<bool>> claim_email_slot(Services& services, std::string_view email,
                                               std::string_view order_id);

// Frees the slot of an order that holds nothing, claimed at `claimed_us` (services.steady_us,
// taken before the claim). A failure is retried in the background (checkout_undo.hpp); a slot
// the retries do not free stops counting when its time is up.
asio::awaitable<void> free_email_slot(Services& services, std::string_view email,
                                      std::string_view order_id, std::int64_t claimed_us);

// The settled order's slot: kept for good when `paid`, freed otherwise.
asio::awaitable<Status> settle_email_slot(Services& services, std::string_view email,
                                          std::string_view order_id, bool paid);

}  // namespace tigerfans::flows

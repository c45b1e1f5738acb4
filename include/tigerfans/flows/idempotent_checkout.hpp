// Checkout with an Idempotency-Key (docs/ARCHITECTURE.md §3): a client that retries a checkout
// with the same key and the same request gets the first answer again (the same order, the same
// payment session, no second hold) for a day.
//
// The first request claims the key atomically in the session store for a short lease
// (limits::checkout_key_lease_ms) and stores the fingerprint of its request; a request meeting
// a live claim answers 409; a request whose fingerprint differs from the stored one answers
// 422. When the checkout answers, the claim becomes done with that answer (status and body)
// for limits::checkout_key_done_ttl_s; a sold-out answer is an answer and is recorded too. A
// fault (5xx), the email's ticket limit (nothing held, and it lifts by itself), seats others
// were holding at that moment (409 with Retry-After) or a refused admission (403:
// nothing held, and the next admission lifts it) release the claim instead, so a retry runs a
// checkout of its own at once. If the
// server dies while holding the claim, the claim expires with its lease and a retry then runs a
// new checkout: the first hold, never handed to the client, times out by itself.
//
// Keys are global, named in the store by their SHA-256. A stored answer goes only to a request
// with the same key and the same fingerprint (class and email), so reading another client's
// answer takes both its key and its email address.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "tigerfans/flows/checkout.hpp"
#include "tigerfans/flows/services.hpp"
#include "tigerfans/http/message.hpp"

namespace tigerfans::flows {

inline constexpr std::string_view idempotency_key_header = "Idempotency-Key";

// 1 to limits::checkout_key_bytes_max printable ASCII characters (space to '~').
bool is_valid_idempotency_key(std::string_view key);

// The SHA-256 of what the checkout asks for, as parsed (class and email): the same request
// with other JSON spacing or member order has the same fingerprint.
std::string checkout_fingerprint(const CheckoutRequest& request);

// Whether the key keeps `response` for its replays; else the key is released (see above).
bool is_kept_answer(const http::Response& response);

// The handler's answer to a checkout request.
using CheckoutAnswerer = std::function<asio::awaitable<http::Response>(Services&, CheckoutRequest)>;

// Answers `request` sent with the Idempotency-Key `key`: 400 for a malformed key, else runs
// `answer` at most once per key while its answer is kept (see above).
asio::awaitable<http::Response> keyed_checkout(Services& services, std::string_view key,
                                               CheckoutRequest request, CheckoutAnswerer answer);

}  // namespace tigerfans::flows

// Checkout with an Idempotency-Key: claim the key, run the checkout once, record its answer.
#include "tigerfans/flows/idempotent_checkout.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "flows/checkout_undo.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/errors.hpp"
#include "tigerfans/queue/admission_token.hpp"
#include "tigerfans/seating/seat_list.hpp"

namespace tigerfans::flows {

namespace {

http::Response malformed_key() {
    return http::error_response(400, "invalid_idempotency_key",
                                "Idempotency-Key must be 1 to 255 printable ASCII characters");
}

http::Response key_reused() {
    return http::error_response(422, "idempotency_key_reused",
                                "this Idempotency-Key was used with a different request");
}

http::Response key_in_flight() {
    http::Response response = http::error_response(
        409, "idempotency_key_in_flight",
        "a request with this Idempotency-Key is still being processed; retry later");
    response.headers.emplace_back("Retry-After", "1");
    return response;
}

http::Response replay(const sessions::KeyAnswer& stored) {
    http::Response response = http::Response::json(stored.status, stored.body);
    response.headers.emplace_back(std::string(http::idempotent_replay_header), "true");
    return response;
}

// The answer to a key someone else claimed: 422 when it was claimed for another request,
// else 409 while in flight or the stored answer once done.
http::Response answer_claimed(const sessions::KeyAnswer& stored, std::string_view fingerprint) {
    TF_ASSERT(stored.state != sessions::KeyState::claimed);
    if (!stored.fingerprint.empty() && stored.fingerprint != fingerprint) return key_reused();
    if (stored.state == sessions::KeyState::busy) return key_in_flight();
    return replay(stored);
}

// Releases `claim`, made at `claimed_us` (services.steady_us), in the background, retried
// until the store takes it or its lease ends. Only the claim's token releases it, so one that
// never landed releases nothing.
void release_claim_later(Services& services, const sessions::KeyClaim& claim,
                         std::int64_t claimed_us) {
    undo_later(
        services, "an idempotency key's claim",
        [&services, claim] { return services.sessions.release_key(claim); },
        claimed_us + std::int64_t{limits::checkout_key_lease_ms} * 1'000);
}

// Records the answer, or releases the claim after a passing answer so a retry runs at once.
// A release that fails is retried in the background; an answer that cannot be recorded leaves
// the claim to its lease. The client has its answer meanwhile.
asio::awaitable<void> settle_claim(Services& services, const sessions::KeyClaim& claim,
                                   std::int64_t claimed_us, const http::Response& response) {
    if (!is_kept_answer(response)) {
        Status released = co_await services.sessions.release_key(claim);
        if (!released) {
            spdlog::warn("checkout: could not release an idempotency key ({}); retrying",
                         fault_name(released.fault()));
            release_claim_later(services, claim, claimed_us);
        }
        co_return;
    }
    Status finished = co_await services.sessions.finish_key(claim, response.status, response.body,
                                                            limits::checkout_key_done_ttl_s);
    if (!finished) {
        spdlog::warn(
            "checkout: could not record the answer of an idempotency key ({}); a retry "
            "after its lease runs a new checkout",
            fault_name(finished.fault()));
    }
}

}  // namespace

// Not kept: a fault; the email's ticket limit, which held nothing and lifts once the email's
// holds end or a payment fails; seats others held at the same moment, which asks for a retry;
// an admission refused (missing, expired, not this server's, its checkouts used up), which
// held nothing and lifts with the next admission from the queue.
bool is_kept_answer(const http::Response& response) {
    if (response.status >= 500) return false;
    if (response.status != 409 && response.status != 403) return true;
    const auto body = nlohmann::json::parse(response.body, nullptr, false);
    if (!body.is_object()) return true;
    const std::string error = body.value("error", "");
    if (response.status == 403) return !error.starts_with(queue::refusal_prefix);
    return error != ticket_limit_error && error != seats_contended_error;
}

bool is_valid_idempotency_key(std::string_view key) {
    if (key.empty() || key.size() > limits::checkout_key_bytes_max) return false;
    return std::all_of(key.begin(), key.end(), [](char c) { return c >= ' ' && c <= '~'; });
}

std::string checkout_fingerprint(const CheckoutRequest& request) {
    std::string canonical(class_name(request.cls));
    canonical.push_back('\n');
    canonical.append(request.customer_email);
    // A class request's fingerprint is what it was before seating, so keys stored by an
    // earlier release still match. Emails hold no newline, and the category comes last.
    if (!request.seats.empty()) {
        canonical.append("\nseats:").append(seating::seat_list_text(request.seats));
    } else if (request.best_available) {
        canonical.append("\nbest:")
            .append(std::to_string(request.best_available->count))
            .append(":")
            .append(request.best_available->category);
    }
    return sha256_hex(canonical);
}

asio::awaitable<http::Response> keyed_checkout(Services& services, std::string_view key,
                                               CheckoutRequest request, CheckoutAnswerer answer) {
    if (!is_valid_idempotency_key(key)) co_return malformed_key();
    sessions::KeyClaim claim;
    claim.key_id = sha256_hex(key);
    claim.fingerprint = checkout_fingerprint(request);
    claim.token = new_lease_token();
    const std::int64_t claimed_us = services.steady_us();
    auto claimed = co_await services.sessions.claim_key(claim, limits::checkout_key_lease_ms);
    if (!claimed) {
        // A claim whose answer was lost may have landed: the retry the 503 asks for would meet
        // it in flight (409) until its lease ends. The store is likely still reconnecting, so
        // the release waits for it in the background. An overloaded store refused the claim
        // (never sent, or refused for memory): there is nothing to release.
        if (claimed.fault() != Fault::overloaded) release_claim_later(services, claim, claimed_us);
        co_return http::fault_response(claimed.fault(), "checkout key");
    }
    if (claimed->state != sessions::KeyState::claimed) {
        co_return answer_claimed(*claimed, claim.fingerprint);
    }
    http::Response response = co_await answer(services, std::move(request));
    co_await settle_claim(services, claim, claimed_us, response);
    co_return response;
}

}  // namespace tigerfans::flows

// Payment sessions (what checkout saved for the payment provider's webhook to find) and the
// webhook's idempotency gate, and the records of checkout's idempotency keys. Backends: Redis
// (sessions/redis) and PostgreSQL (sessions/postgres). A session lives a little longer than its
// reservation.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tigerfans/core/result.hpp"
#include "tigerfans/core/ticket.hpp"
#include "tigerfans/core/u128.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::sessions {

namespace asio = boost::asio;

struct PaymentSession {
    std::string psid;
    std::string order_id;
    TicketClass cls = TicketClass::a;
    std::string customer_email;
    u128 ticket_hold_id = 0;
    u128 goodie_hold_id = 0;
    bool goodie_held = false;
    std::int64_t amount_cents = 0;
    std::string currency;
    std::int64_t created_at_us = 0;
    // A seat order's seats (ascending) and their holds, pairwise; both empty for a class. A
    // seat order's ticket_hold_id is its first seat's hold, and it holds no goodie.
    std::vector<seating::SeatId> seats;
    std::vector<u128> seat_hold_ids;
};

// The webhook's idempotency gate, one per payment session, is a lease and never a final mark
// before the order exists: the first delivery takes the lease for a few seconds; a delivery
// while it is held is told to come back later; the gate turns done only after the order row
// committed; a lease whose holder died (or stalled) expires and the next delivery takes it.
enum class GateState : std::uint8_t {
    leased,  // This delivery holds the lease: process the event, then finish or release.
    busy,    // Another delivery holds an unexpired lease: the provider should retry later.
    done,    // The order exists: answer as a replay with its stored status.
};

struct GateAnswer {
    GateState state = GateState::busy;
    std::string done_status;  // With `done`: the stored order's status ("PAID", ...).
};

// A done mark of an order the customer did not pay. It answers replays of failures and
// cancels, but a payment (a success after, or racing with, a failure) is let through: the
// fan paid, so the order must end paid. A paid mark is never replaced by an unpaid one.
constexpr bool is_unpaid_mark(std::string_view order_status) {
    return order_status == "FAILED" || order_status == "CANCELED";
}

// A checkout idempotency key's record, named by a digest of the client's key, holding a digest
// of the request that claimed it. Like the webhook gate it is a lease before it is an answer:
// the first request claims it for a short lease; the record becomes done with the answer (24 h)
// once checkout answered, or is released after a fault so a retry runs at once; a claim whose
// holder died (or stalled) expires with its lease.
enum class KeyState : std::uint8_t {
    claimed,  // This request holds the claim: run the checkout, then finish or release.
    busy,     // Another request holds an unexpired claim.
    done,     // The first request's answer is stored.
};

struct KeyAnswer {
    KeyState state = KeyState::busy;
    std::string fingerprint;  // With busy and done: the digest of the claiming request.
    unsigned status = 0;      // With done: the stored answer's HTTP status and body.
    std::string body;
};

// What claim_key stores and compares: the key's and the request's digests, and the claim's
// token (never shown to the client).
struct KeyClaim {
    std::string key_id;
    std::string fingerprint;
    std::string token;
};

struct PendingList {
    std::uint64_t total = 0;               // Sessions in the pending index.
    std::vector<PaymentSession> sessions;  // Newest first.
};

class SessionStore {
public:
    virtual ~SessionStore() = default;

    virtual std::string_view backend_name() const = 0;  // "Redis" or "PostgreSQL"

    // Creates what the store needs (scripts, tables). Idempotent.
    virtual asio::awaitable<Status> start() = 0;

    // Saves the session with a TTL of `ttl_s` and adds it to the pending index.
    virtual asio::awaitable<Status> save(const PaymentSession& session, std::uint32_t ttl_s) = 0;

    // Sets whether the session's goodie is held, only while the session exists: one that a
    // payment dropped meanwhile stays gone, and one that is off the pending list stays off it.
    // Its TTL is left as it is.
    virtual asio::awaitable<Status> correct_goodie(std::string_view psid, bool goodie_held) = 0;

    // nullopt when unknown or expired.
    virtual asio::awaitable<Result<std::optional<PaymentSession>>> find(std::string_view psid) = 0;

    // Takes the session's lease for `lease_ms` under `token` when there is neither a live lease
    // nor a done mark (nor, for a `payment`, more than an unpaid mark); otherwise says which
    // there is. A free gate costs one round trip. Taking it also keeps the session for at least
    // the done-mark lifetime, so a delivery that dies holding it leaves a session its retry
    // finds (a store may keep it on every call: Redis does).
    virtual asio::awaitable<Result<GateAnswer>> take_lease(std::string_view psid,
                                                           std::string_view token,
                                                           std::uint32_t lease_ms,
                                                           bool payment) = 0;

    // Marks the gate done with the stored order's status (for the done-mark lifetime), unless
    // it is already done with a paid status and this one is unpaid, and drops the session in
    // the same round trip: a paid order's session is deleted with its pending-index entry; an
    // unpaid one's only leaves the index and stays until it expires, since a payment may still
    // follow its failure or cancel. Called only after the order row committed; whoever holds
    // the lease by then is superseded. After a fault either may have happened, or both: the
    // mark is never missing while the paid session is gone (a retry would find neither).
    virtual asio::awaitable<Status> finish_gate(std::string_view psid,
                                                std::string_view order_status) = 0;

    // Gives the lease back after processing failed, so the provider's retry is processed at
    // once; a lease that another delivery took over meanwhile is left alone.
    virtual asio::awaitable<Status> release_lease(std::string_view psid,
                                                  std::string_view token) = 0;

    // In one atomic step: claims the key for `lease_ms` under the claim's token when no live
    // record exists; otherwise answers the live record (busy or done, with its fingerprint).
    // Of many concurrent claims of one key, in one process or several, exactly one succeeds.
    virtual asio::awaitable<Result<KeyAnswer>> claim_key(const KeyClaim& claim,
                                                         std::uint32_t lease_ms) = 0;

    // Turns the record done with the answer for `ttl_s`, only while `token` still holds the
    // claim (a claim that expired and was taken over belongs to its new holder).
    virtual asio::awaitable<Status> finish_key(const KeyClaim& claim, unsigned status,
                                               std::string_view body, std::uint32_t ttl_s) = 0;

    // Deletes the record while `token` still holds the claim, so a retry runs at once.
    virtual asio::awaitable<Status> release_key(const KeyClaim& claim) = 0;

    // Deletes the session and its pending-index entry.
    virtual asio::awaitable<Status> remove(std::string_view psid) = 0;

    virtual asio::awaitable<Result<PendingList>> recent(std::size_t limit) = 0;

    // Ticket slots per email address (TICKETS_PER_EMAIL), one per order, kept across all
    // sessions. `email` is the normalised address. In one atomic step: forgets the email's
    // slots whose time is up, and when fewer than `limit` (> 0) are left, adds this order's
    // slot, counting for `counts_ms` from now; answers whether the slot is this order's (true
    // too when it already was). Concurrent claims of one email, in one process or several,
    // take at most `limit` slots between them.
    virtual asio::awaitable<Result<bool>> claim_email_slot(std::string_view email,
                                                           std::string_view order_id,
                                                           std::uint64_t counts_ms,
                                                           std::uint32_t limit) = 0;

    // A paid order's slot counts for good (added again if its time was up, or a failure had
    // freed it); an unpaid one's is freed. Idempotent.
    virtual asio::awaitable<Status> settle_email_slot(std::string_view email,
                                                      std::string_view order_id, bool paid) = 0;

    virtual asio::awaitable<bool> healthy() = 0;

    // Finishes what is queued, then closes connections. No call may follow.
    virtual asio::awaitable<void> stop() = 0;
};

}  // namespace tigerfans::sessions

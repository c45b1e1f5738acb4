// Payment sessions (what checkout saved for the payment provider's webhook to find) and the
// webhook's idempotency gate. Backends: Redis (sessions/redis) and PostgreSQL
// (sessions/postgres). A session lives a little longer than its reservation.
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
};

enum class Gate : std::uint8_t {
    first,   // This call closed the gate: process the event.
    replay,  // The session was already fulfilled or this event was already seen.
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

    // nullopt when unknown or expired.
    virtual asio::awaitable<Result<std::optional<PaymentSession>>> find(std::string_view psid) = 0;

    // In one round trip: a per-session "fulfilled" flag (set if absent, 24 h) and a per-event
    // key (set if absent, 1 h). `first` only when neither existed; then both are set.
    virtual asio::awaitable<Result<Gate>> pass_gate(std::string_view psid,
                                                    std::string_view event_key) = 0;

    // Reopens the gate after processing failed, so the provider's retry is not a replay.
    virtual asio::awaitable<Status> reopen_gate(std::string_view psid,
                                                std::string_view event_key) = 0;

    // Deletes the session and its pending-index entry.
    virtual asio::awaitable<Status> remove(std::string_view psid) = 0;

    virtual asio::awaitable<Result<PendingList>> recent(std::size_t limit) = 0;

    virtual asio::awaitable<bool> healthy() = 0;

    // Finishes what is queued, then closes connections. No call may follow.
    virtual asio::awaitable<void> stop() = 0;
};

}  // namespace tigerfans::sessions

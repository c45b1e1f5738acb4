// The accounting interface every backend implements with TigerBeetle's semantics: holds are
// pending transfers that expire by themselves, paying posts them, failing voids them, and
// overselling is impossible because the store refuses the debit. Retries are safe: post, void
// and late-booking ids derive from the hold id (core/ids.hpp), so a repeat meets "exists".
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tigerfans/core/result.hpp"
#include "tigerfans/core/ticket.hpp"
#include "tigerfans/core/u128.hpp"

namespace tigerfans::accounting {

namespace asio = boost::asio;

class SeatLedger;  // seat_ledger.hpp

struct Capacities {
    std::uint64_t class_a;
    std::uint64_t class_b;
    std::uint64_t goodies;

    std::uint64_t of(Resource resource) const;
};

// Ids chosen by the caller (IdGenerator), so every backend stores the same ids. The order id
// travels with every transfer (TigerBeetle's user_data_128, a column on PostgreSQL), so each
// ticket the ledger sold can be traced to its order; 0 for the isolated accounting endpoints,
// which sell without one.
struct HoldRequest {
    TicketClass cls;
    u128 ticket_hold_id;
    u128 goodie_hold_id;
    std::uint32_t timeout_s;
    u128 order_id = 0;
};

struct HoldResult {
    bool ticket_held = false;  // False: sold out (the goodie hold, if any, is voided already).
    bool goodie_held = false;
};

// What happened to one hold when it was posted or voided.
enum class Resolution : std::uint8_t {
    done,       // Posted (or voided) now, or by an earlier attempt with the same derived id.
    expired,    // The hold timed out first.
    conflict,   // Already resolved the other way (posted when voiding, voided when posting).
    not_found,  // No such hold.
};

struct CommitRequest {
    TicketClass cls;
    u128 ticket_hold_id;
    u128 goodie_hold_id;
    bool goodie_held;   // Post the goodie hold too.
    u128 order_id = 0;  // Carried by a late booking (posts and voids keep the hold's).
};

struct CommitResult {
    Resolution ticket = Resolution::not_found;
    Resolution goodie = Resolution::not_found;  // not_found when no goodie hold was posted.
};

struct BookResult {
    bool got_ticket = false;  // False: nothing left (PAID_UNFULFILLED).
    bool got_goodie = false;
};

struct Balance {
    std::uint64_t capacity = 0;
    std::uint64_t sold = 0;
    std::uint64_t held = 0;
    std::uint64_t available() const { return sold + held >= capacity ? 0 : capacity - sold - held; }
};

struct Inventory {
    Balance class_a;
    Balance class_b;
    Balance goodies;
    const Balance& of(Resource resource) const;
};

// Where one hold or late booking stands. A late booking is posted when made.
enum class EntryState : std::uint8_t { pending, posted, voided, expired };
std::string_view entry_state_name(EntryState state);

// One hold or late booking of a ticket or a goodie, as the ledger keeps it: what the
// reconciler compares with the orders (flows/reconcile.hpp).
struct LedgerEntry {
    u128 transfer_id = 0;  // The hold's id, or the late booking's derived id.
    u128 order_id = 0;     // 0: made without an order (the isolated accounting endpoints).
    Resource resource = Resource::class_a;
    EntryState state = EntryState::pending;
    bool late = false;                // A late booking rather than a hold.
    std::int64_t created_at_us = 0;   // Unix time, by the ledger's clock.
    std::int64_t resolved_at_us = 0;  // When posted, voided or expired; 0 while pending.
};

class Ledger {
public:
    virtual ~Ledger() = default;

    // "TigerBeetle" or "PostgreSQL", for the landing page and logs.
    virtual std::string_view backend_name() const = 0;

    // Creates what the ledger needs (accounts and funding, or tables and rows). Idempotent:
    // a restart neither re-creates nor re-funds.
    virtual asio::awaitable<Status> start() = 0;

    // Connects to a ledger some server set up, changing nothing (no tables, accounts, funding
    // or capacity): for `tigerfans reconcile`. Unavailable when it is not set up.
    virtual asio::awaitable<Status> attach() = 0;

    // One ticket of `cls` and one goodie, both pending with `timeout_s`. Not linked: a failed
    // goodie hold is fine; a failed ticket hold means sold out.
    virtual asio::awaitable<Result<HoldResult>> hold(HoldRequest request) = 0;

    // Posts the ticket hold (and the goodie hold when held) with the exact held amount.
    virtual asio::awaitable<Result<CommitResult>> commit(CommitRequest request) = 0;

    // Late success: books a ticket (and a goodie) at once, with ids derived from the expired
    // holds' ids so a retried webhook cannot book twice.
    virtual asio::awaitable<Result<BookResult>> book_late(CommitRequest request) = 0;

    // Voids both holds (a hold id of 0 is skipped). Expired or already voided is fine.
    virtual asio::awaitable<Status> cancel(TicketClass cls, u128 ticket_hold_id,
                                           u128 goodie_hold_id) = 0;

    virtual asio::awaitable<Result<Inventory>> inventory() = 0;

    // Every hold and late booking ever made, pending ones past their timeout as expired, for
    // the reconciler. PostgreSQL reads on a connection of its own; TigerBeetle's reads share
    // the client with the transfers, a page of 8,189 per request.
    virtual asio::awaitable<Result<std::vector<LedgerEntry>>> entries() = 0;

    // The holds and late bookings that carry `order_id` (not 0), as entries() reads them: how
    // a payment whose session is lost finds the holds its checkout made. A few reads, off the
    // sale's path.
    virtual asio::awaitable<Result<std::vector<LedgerEntry>>> entries_of(u128 order_id) = 0;

    // The venue's seats (VENUE), set up by start(); null when the sale sells no seats or their
    // set-up failed. After stop() its calls fail with shutting_down.
    virtual SeatLedger* seats() = 0;

    // Whether the backend answered its last request (for /healthz).
    virtual asio::awaitable<bool> healthy() = 0;

    // Finishes what is queued, then releases the backend. No call may follow.
    virtual asio::awaitable<void> stop() = 0;
};

}  // namespace tigerfans::accounting

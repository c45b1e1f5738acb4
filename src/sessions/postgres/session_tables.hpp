// The PostgreSQL payment-session store's tables and its one transaction per batch. Database
// thread only.
//
//   payment_sessions(psid pk, order_id, cls, customer_email, ticket_hold_id, goodie_hold_id,
//       goodie_held, amount, currency, created_at, expires_at, listed): what checkout saved,
//       until expires_at (the TTL Redis would give the key); `listed` while it is pending (the
//       index Redis keeps in a sorted set).
//   webhook_leases(psid pk, token, order_status, expires_at): the webhook gate of a session,
//       either a delivery's lease (token set, a few seconds) or done (the stored order's
//       status, 24 h), the row standing for Redis' gate key.
//   checkout_keys(key_id pk, fingerprint, token, status, body, expires_at): a checkout
//       idempotency key, either claimed (token set, a few seconds) or done (the answer's status
//       and body, 24 h), the row standing for Redis' ckey: key.
//   email_slots(email, order_id, counts_until; pk email, order_id): the ticket slots of each
//       normalised email address (TICKETS_PER_EMAIL), counting until counts_until, 'infinity'
//       once paid; the rows standing for Redis' slot sets.
//
// A row past expires_at is never returned and counts as absent; each batch deletes a bounded
// number of them, so the tables shrink back once the traffic has gone.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <variant>
#include <vector>

#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::sessions::postgres {

struct SaveOp {
    PaymentSession session;
    std::uint32_t ttl_s;
};
// Sets goodie_held of a session that still exists.
struct GoodieOp {
    std::string psid;
    bool goodie_held;
};
struct FindOp {
    std::string psid;
};
struct LeaseOp {
    std::string psid;
    std::string token;
    std::uint32_t lease_ms;
    bool payment;
};
// Marks the gate done and drops the session (an unpaid order's only leaves the pending list).
struct FinishOp {
    std::string psid;
    std::string order_status;
};
struct ReleaseOp {
    std::string psid;
    std::string token;
};
struct ClaimKeyOp {
    KeyClaim claim;
    std::uint32_t lease_ms;
};
struct FinishKeyOp {
    KeyClaim claim;
    unsigned status;
    std::string body;
    std::uint32_t ttl_s;
};
struct ReleaseKeyOp {
    KeyClaim claim;
};
struct RemoveOp {
    std::string psid;
};
struct ClaimSlotOp {
    std::string email;
    std::string order_id;
    std::uint64_t counts_ms;
    std::uint32_t limit;
};
struct SlotOp {
    std::string email;
    std::string order_id;
    bool paid;  // Counts for good; else the slot is freed.
};

using Operation = std::variant<SaveOp, GoodieOp, FindOp, LeaseOp, FinishOp, ReleaseOp, RemoveOp,
                               ClaimKeyOp, FinishKeyOp, ReleaseKeyOp, ClaimSlotOp, SlotOp>;
using Outcome = std::variant<Done, std::optional<PaymentSession>, GateAnswer, KeyAnswer, bool>;

void prepare_session_statements(pqxx::connection& connection);
void create_session_tables(pqxx::connection& connection);

// One batch, one transaction. Every operation of a batch was waiting when the batch started,
// so they are concurrent and any order is a valid one: every psid written is locked first (one
// global order: no deadlocks between batches; key ids share the lock space), and so is every
// email whose slots it claims or settles; then writes go (goodies corrected after saves and
// removals, finished gates and keys, released
// leases and claims, settled slots among them), then the leases, the key claims and the slot
// claims, then the reads, each kind as one statement (leases and claims: one each, in psid, key
// and email order).
std::vector<Outcome> run_session_batch(pqxx::connection& connection,
                                       const std::vector<Operation>& operations);

PendingList recent_sessions(pqxx::connection& connection, std::size_t limit);

}  // namespace tigerfans::sessions::postgres

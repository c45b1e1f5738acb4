// The PostgreSQL ledger's bookkeeping, kept pure: given the locked resource balances and the
// rows of every hold a batch mentions, it applies the batch's operations one after the other
// with TigerBeetle's rules (docs/ARCHITECTURE.md §4) and says what to write back.
// The SQL around it (ledger_tables.cpp) only loads and stores; every decision is made here,
// where unit tests reach it without a database.
//
// Rows of `ledger_holds` play TigerBeetle's transfers: a hold is a pending row; posting or
// voiding changes its status (the derived post and void ids of TigerBeetle are implicit: a
// status can change once, so a retry meets the status it left); expiry turns pending into
// expired; a late booking is a row of its own, id derive_id(hold, late_booking), posted at once
// or "rejected" when nothing was left, so that a replay reports the first outcome.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "tigerfans/accounting/ledger.hpp"

namespace tigerfans::accounting::postgres {

enum class HoldStatus : std::uint8_t { pending, posted, voided, expired, rejected };

std::string_view hold_status_name(HoldStatus status);
std::optional<HoldStatus> parse_hold_status(std::string_view name);
std::string_view resource_name(Resource resource);  // Key of the resource's row.
std::optional<Resource> parse_resource(std::string_view name);

// One operation of a batch; each caller submits one.
struct HoldOp {
    HoldRequest request;
};
struct CommitOp {
    CommitRequest request;
};
struct BookLateOp {
    CommitRequest request;
};
struct CancelOp {
    TicketClass cls;
    u128 ticket_hold_id;
    u128 goodie_hold_id;
};
struct InventoryOp {};

using Operation = std::variant<HoldOp, CommitOp, BookLateOp, CancelOp, InventoryOp>;
using Outcome = std::variant<HoldResult, CommitResult, BookResult, Done, Inventory>;

struct HoldRow {
    Resource resource = Resource::class_a;
    HoldStatus status = HoldStatus::pending;
    std::uint32_t timeout_s = 0;  // Of a new pending row; 0: never expires.
    u128 order_id = 0;            // Of a new row; 0: none (the isolated accounting endpoints).
    bool is_new = false;          // Inserted by this batch.
    bool changed = false;         // Loaded, and its status changed in this batch.
};

using HoldRows = std::unordered_map<u128, HoldRow, U128Hash>;
using Balances = std::array<Balance, resource_count>;

bool same_balances(const Balances& a, const Balances& b);

// Every row id the operations may read: holds and the late bookings derived from them.
std::vector<u128> referenced_ids(std::span<const Operation> operations);

class BatchPlanner {
public:
    // `balances` after expired holds were swept; `rows` as loaded (none of them expired
    // pending: the sweep ran first).
    BatchPlanner(Balances balances, HoldRows rows);

    Outcome apply(const Operation& operation);

    const Balances& balances() const { return balances_; }
    const HoldRows& rows() const { return rows_; }

private:
    HoldResult hold(const HoldRequest& request);
    CommitResult commit(const CommitRequest& request);
    BookResult book_late(const CommitRequest& request);
    Done cancel(const CancelOp& operation);
    Inventory inventory() const;

    bool reserve(u128 id, Resource resource, std::uint32_t timeout_s, u128 order_id);
    Resolution resolve(u128 id, Resource resource, HoldStatus target);
    bool book(u128 hold_id, Resource resource, u128 order_id);
    void insert(u128 id, Resource resource, HoldStatus status, std::uint32_t timeout_s,
                u128 order_id);
    const HoldRow* find(u128 id, Resource resource) const;
    Balance& balance(Resource resource) { return balances_[static_cast<std::size_t>(resource)]; }

    Balances balances_;
    HoldRows rows_;
};

}  // namespace tigerfans::accounting::postgres

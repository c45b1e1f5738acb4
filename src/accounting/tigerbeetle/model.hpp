// The account model of docs/ARCHITECTURE.md §4 as TigerBeetle events, and what each create status
// means for the ledger. Ledger 2000; per resource (class A, class B, goodies) three accounts
// with fixed ids: Operator funds Budget once with the capacity (a fixed transfer id, so a
// restart never funds twice); Budget refuses to go below zero (DEBITS_MUST_NOT_EXCEED_CREDITS);
// a hold is a pending Budget -> Spent transfer of 1 that expires by itself. Posting uses the
// exact amount (0 would void). Post, void and late-booking ids derive from the hold id, so a
// retry meets `exists`. Pure functions: no I/O here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "accounting/tigerbeetle/abi.hpp"
#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/core/ticket.hpp"
#include "tigerfans/core/u128.hpp"

namespace tigerfans::accounting::tb::model {

inline constexpr std::uint32_t ledger = 2000;
inline constexpr std::uint16_t account_code = 20;
inline constexpr std::uint16_t funding_code = 1;
inline constexpr std::uint16_t hold_code = 10;  // Also on posts and voids: they must match.
inline constexpr std::uint16_t late_booking_code = 11;
inline constexpr u128 hold_amount = ticket_quantity;

inline constexpr std::array<Resource, resource_count> resources = {
    Resource::class_a, Resource::class_b, Resource::goodies};

struct ResourceIds {
    u128 operator_account;
    u128 budget_account;
    u128 spent_account;
    u128 funding_transfer;
};

// Fixed forever: changing one orphans every balance kept under the old id.
ResourceIds ids_of(Resource resource);

// All nine accounts, for create_accounts at start-up (`exists` is success).
std::array<abi::Account, 3 * resource_count> accounts();

abi::Transfer funding(Resource resource, std::uint64_t capacity);
// Holds and late bookings carry their order's id in user_data_128; posts and voids leave it 0,
// which the cluster fills in from the pending transfer.
abi::Transfer hold(Resource resource, u128 hold_id, std::uint32_t timeout_s, u128 order_id);
abi::Transfer post(Resource resource, u128 hold_id);
abi::Transfer void_hold(Resource resource, u128 hold_id);
abi::Transfer late_booking(Resource resource, u128 hold_id, u128 order_id);

// The holds and late bookings among `transfers` (one resource's Budget debits, oldest first),
// each with the state its posts and voids gave it; pending holds whose timeout passed by
// `now_us` (Unix microseconds) are expired. Timestamps are the cluster's nanoseconds.
std::vector<LedgerEntry> fold_entries(Resource resource, std::span<const abi::Transfer> transfers,
                                      std::int64_t now_us);

// What a create status means for each kind of transfer; nullopt: unexpected (a bug or a
// misconfigured cluster), reported by the caller.
bool is_success(std::uint32_t status);                // created or exists
bool is_account_ready(std::uint32_t status);          // create_accounts: created or exists
std::optional<bool> is_held(std::uint32_t status);    // false: sold out
std::optional<bool> is_booked(std::uint32_t status);  // late booking; false: sold out
std::optional<Resolution> post_resolution(std::uint32_t status);
std::optional<Resolution> void_resolution(std::uint32_t status);

// Funding is done when created, when it exists, and when it exists with another amount (the
// capacity was changed after the first start: the ledger keeps the funded one and says so).
bool is_funded(std::uint32_t status);

}  // namespace tigerfans::accounting::tb::model

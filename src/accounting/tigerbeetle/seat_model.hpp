// Reserved seats as TigerBeetle accounts and transfers (docs/SEATING.md), on a ledger of their
// own (3000). Each seat is an account that refuses to go below zero
// (DEBITS_MUST_NOT_EXCEED_CREDITS), funded once with 1 by the venue's operator account; holding
// a seat is a pending transfer of 1 from the seat to the venue's sold account, so a second hold
// of the same seat is refused by the cluster, not by us. A hold of several seats is one chain
// of linked pending transfers in seat-id order: all are held or none. Posting and voiding work
// per seat as for ticket classes, with ids derived from each seat's hold id.
//
// Ids: accounts and fixed transfers take 0x8 in their top four bits (never used by generated or
// derived ids, core/ids.hpp), the venue's key in the next 60, the kind in bits 32-63 and the
// seat id in the low 32. The key comes from the venue's seat digest: a venue whose seats are
// named otherwise (ids, rows, counts) opens accounts of its own; an edit of names, prices or
// coordinates keeps them.
// Pure functions: no I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "accounting/tigerbeetle/abi.hpp"
#include "tigerfans/accounting/seat_ledger.hpp"
#include "tigerfans/core/u128.hpp"
#include "tigerfans/seating/availability.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::accounting::tb::seat_model {

using accounting::EntryState;
using accounting::SeatHoldEntry;
using seating::SeatId;

inline constexpr std::uint32_t ledger = 3000;
inline constexpr std::uint16_t seat_account_code = 30;
inline constexpr std::uint16_t venue_account_code = 31;
inline constexpr std::uint16_t funding_code = 1;
inline constexpr std::uint16_t hold_code = 12;  // Also on posts and voids: they must match.

// 60 bits of the venue's seat digest, never 0.
std::uint64_t venue_key(const seating::Venue& venue);

u128 seat_account_id(std::uint64_t key, SeatId seat);
u128 seat_funding_id(std::uint64_t key, SeatId seat);
u128 operator_account_id(std::uint64_t key);
u128 sold_account_id(std::uint64_t key);

// The operator and sold accounts, then every seat's, in seat order: for create_accounts at
// start-up in full batches (`exists` is success, so a restart changes nothing).
std::vector<abi::Account> accounts(std::uint64_t key, std::uint32_t seat_count);
// One funding transfer of 1 per seat, fixed ids: a restart meets `exists`.
std::vector<abi::Transfer> fundings(std::uint64_t key, std::uint32_t seat_count);

// The hold of `seats` (ascending, distinct, 1 to limits::seats_per_order_max), one pending
// transfer each with the matching id of `hold_ids`, linked into one chain that the last closes.
// It must travel in one request, unsplit.
std::vector<abi::Transfer> hold_chain(std::uint64_t key, std::span<const SeatId> seats,
                                      std::span<const u128> hold_ids, std::uint32_t timeout_s,
                                      u128 order_id);
abi::Transfer post(std::uint64_t key, SeatId seat, u128 hold_id);
abi::Transfer void_hold(std::uint64_t key, SeatId seat, u128 hold_id);

// What a chain's statuses mean: held (every event created, or a retry of a chain made before:
// `exists` where it stopped; `exists` says the chain was made, not that its holds are still
// pending: posting tells), taken (some seat was held or sold: exceeds_credits, or a retry's
// id_already_failed), or nullopt for anything else (a bug or a misconfigured cluster). Which
// seats were taken is not in the statuses (the cluster stops at the first), so the caller looks
// the seats up.
enum class ChainOutcome : std::uint8_t { held, taken };
std::optional<ChainOutcome> chain_outcome(std::span<const std::uint32_t> statuses);

// A seat account's state: sold once its debit is posted, held while one is pending; free
// otherwise. An account not yet funded counts as sold: nobody can hold it.
seating::SeatState state_of(const abi::Account& account);

// The seat of this venue whose account `transfer` debits, when it is a hold, post or void of
// one; nothing for any other transfer.
std::optional<SeatId> seat_of(std::uint64_t key, std::uint32_t seat_count,
                              const abi::Transfer& transfer);

// The seat holds among `transfers`, the credits of the venue's sold account (every hold, post
// and void of its seats, oldest first), each with what resolved it: a pending hold whose
// timeout passed before `now_us` is expired. Transfers of other seats or venues are passed
// over.
std::vector<SeatHoldEntry> hold_entries_of(std::uint64_t key, std::uint32_t seat_count,
                                           std::span<const abi::Transfer> transfers,
                                           std::int64_t now_us);

}  // namespace tigerfans::accounting::tb::seat_model

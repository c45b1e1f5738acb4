// Seat accounts, their funding, hold chains and what their statuses mean.
#include "accounting/tigerbeetle/seat_model.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::accounting::tb::seat_model {

namespace status = abi::create_transfer_status;

namespace {
constexpr int marker_shift = derivation_shift;  // The top four bits.
constexpr u128 marker = u128{0x8} << marker_shift;
constexpr std::uint64_t key_mask = (std::uint64_t{1} << 60) - 1;

enum class Kind : std::uint32_t { seat = 1, funding = 2, operator_account = 3, sold = 4 };

u128 fixed_id(std::uint64_t key, Kind kind, std::uint32_t low) {
    TF_ASSERT(key != 0 && key <= key_mask);
    return marker | (u128{key} << 64) | (u128{static_cast<std::uint32_t>(kind)} << 32) | low;
}

abi::Account account(u128 id, std::uint16_t code, std::uint16_t flags) {
    abi::Account account{};
    account.id = id;
    account.ledger = ledger;
    account.code = code;
    account.flags = flags;
    return account;
}

abi::Transfer seat_transfer(std::uint64_t key, SeatId seat, u128 id, std::uint16_t flags) {
    abi::Transfer transfer{};
    transfer.id = id;
    transfer.debit_account_id = seat_account_id(key, seat);
    transfer.credit_account_id = sold_account_id(key);
    transfer.amount = 1;
    transfer.ledger = ledger;
    transfer.code = hold_code;
    transfer.flags = flags;
    return transfer;
}
}  // namespace

std::uint64_t venue_key(const seating::Venue& venue) {
    const std::string& digest = venue.seat_digest;
    TF_ASSERT_GE(digest.size(), 16u);
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(digest.data(), digest.data() + 16, value, 16);
    TF_ASSERT(error == std::errc() && end == digest.data() + 16);
    const std::uint64_t key = value & key_mask;
    return key == 0 ? 1 : key;
}

u128 seat_account_id(std::uint64_t key, SeatId seat) { return fixed_id(key, Kind::seat, seat); }
u128 seat_funding_id(std::uint64_t key, SeatId seat) { return fixed_id(key, Kind::funding, seat); }
u128 operator_account_id(std::uint64_t key) { return fixed_id(key, Kind::operator_account, 0); }
u128 sold_account_id(std::uint64_t key) { return fixed_id(key, Kind::sold, 0); }

std::vector<abi::Account> accounts(std::uint64_t key, std::uint32_t seat_count) {
    TF_ASSERT_LE(seat_count, limits::venue_seats_max);
    std::vector<abi::Account> all;
    all.reserve(seat_count + 2);
    all.push_back(account(operator_account_id(key), venue_account_code, 0));
    all.push_back(account(sold_account_id(key), venue_account_code, 0));
    // The cap that makes selling a seat twice impossible.
    constexpr std::uint16_t seat_flags = abi::account_flags::debits_must_not_exceed_credits;
    for (SeatId seat = 0; seat < seat_count; seat++) {
        all.push_back(account(seat_account_id(key, seat), seat_account_code, seat_flags));
    }
    return all;
}

std::vector<abi::Transfer> fundings(std::uint64_t key, std::uint32_t seat_count) {
    TF_ASSERT_LE(seat_count, limits::venue_seats_max);
    std::vector<abi::Transfer> all(seat_count);
    for (SeatId seat = 0; seat < seat_count; seat++) {
        abi::Transfer& transfer = all[seat];
        transfer.id = seat_funding_id(key, seat);
        transfer.debit_account_id = operator_account_id(key);
        transfer.credit_account_id = seat_account_id(key, seat);
        transfer.amount = 1;
        transfer.ledger = ledger;
        transfer.code = funding_code;
    }
    return all;
}

std::vector<abi::Transfer> hold_chain(std::uint64_t key, std::span<const SeatId> seats,
                                      std::span<const u128> hold_ids, std::uint32_t timeout_s,
                                      u128 order_id) {
    TF_ASSERT(!seats.empty() && seats.size() <= limits::seats_per_order_max);
    TF_ASSERT_EQ(seats.size(), hold_ids.size());
    TF_ASSERT(std::ranges::adjacent_find(seats, std::greater_equal<>()) == seats.end());
    std::vector<abi::Transfer> chain;
    chain.reserve(seats.size());
    for (std::size_t i = 0; i < seats.size(); i++) {
        TF_ASSERT(hold_ids[i] != 0 && (hold_ids[i] >> marker_shift) == 0);
        const bool last = i + 1 == seats.size();
        const std::uint16_t flags =
            abi::transfer_flags::pending | (last ? 0 : abi::transfer_flags::linked);
        abi::Transfer transfer = seat_transfer(key, seats[i], hold_ids[i], flags);
        transfer.timeout_s = timeout_s;
        transfer.user_data_128 = order_id;
        chain.push_back(transfer);
    }
    TF_ASSERT((chain.back().flags & abi::transfer_flags::linked) == 0);  // The chain is closed.
    return chain;
}

abi::Transfer post(std::uint64_t key, SeatId seat, u128 hold_id) {
    TF_ASSERT(hold_id != 0);
    abi::Transfer transfer = seat_transfer(key, seat, derive_id(hold_id, Derivation::post),
                                           abi::transfer_flags::post_pending_transfer);
    transfer.pending_id = hold_id;
    return transfer;
}

abi::Transfer void_hold(std::uint64_t key, SeatId seat, u128 hold_id) {
    TF_ASSERT(hold_id != 0);
    abi::Transfer transfer = seat_transfer(key, seat, derive_id(hold_id, Derivation::void_),
                                           abi::transfer_flags::void_pending_transfer);
    transfer.pending_id = hold_id;
    return transfer;
}

// A chain stops at its first event that is not created: that event says why and the rest say
// linked_event_failed. A retry of a chain made before stops at once with `exists`; chains are
// made whole or not at all, so one existing event means all of them exist.
std::optional<ChainOutcome> chain_outcome(std::span<const std::uint32_t> statuses) {
    TF_ASSERT(!statuses.empty());
    std::size_t created = 0;
    std::size_t existing = 0;
    std::size_t taken = 0;
    for (const std::uint32_t code : statuses) {
        if (code == status::created) {
            created++;
        } else if (code == status::exists) {
            existing++;
        } else if (code == status::exceeds_credits || code == status::id_already_failed) {
            taken++;
        } else if (code != status::linked_event_failed) {
            return std::nullopt;
        }
    }
    if (created == statuses.size()) return ChainOutcome::held;
    if (created == 0 && existing + taken == 1) {
        return existing == 1 ? ChainOutcome::held : ChainOutcome::taken;
    }
    return std::nullopt;  // Partly created, or failed with no event saying why.
}

seating::SeatState state_of(const abi::Account& account) {
    TF_ASSERT_EQ(account.ledger, ledger);
    if (account.credits_posted == 0 || account.debits_posted != 0) return seating::SeatState::sold;
    if (account.debits_pending != 0) return seating::SeatState::held;
    return seating::SeatState::free;
}

std::optional<SeatId> seat_of(std::uint64_t key, std::uint32_t seat_count,
                              const abi::Transfer& transfer) {
    if (transfer.ledger != ledger || transfer.code != hold_code) return std::nullopt;
    // A seat account's id ends in its seat number: check that it is this venue's.
    const auto seat = static_cast<SeatId>(transfer.debit_account_id & 0xffff'ffffU);
    if (seat >= seat_count || transfer.debit_account_id != seat_account_id(key, seat)) {
        return std::nullopt;
    }
    return seat;
}

std::vector<SeatHoldEntry> hold_entries_of(std::uint64_t key, std::uint32_t seat_count,
                                           std::span<const abi::Transfer> transfers,
                                           std::int64_t now_us) {
    constexpr std::int64_t ns_per_us = 1'000;
    constexpr std::int64_t us_per_s = 1'000'000;
    std::vector<SeatHoldEntry> entries;
    std::vector<std::int64_t> timeouts_us;  // Pairwise with entries; 0: never expires.
    std::unordered_map<u128, std::size_t, U128Hash> index_of;
    for (const abi::Transfer& transfer : transfers) {
        if (transfer.ledger != ledger || transfer.code != hold_code) continue;
        const auto at_us = static_cast<std::int64_t>(transfer.timestamp) / ns_per_us;
        if (transfer.flags & abi::transfer_flags::pending) {
            const std::optional<SeatId> seat = seat_of(key, seat_count, transfer);
            if (!seat) continue;
            index_of.emplace(transfer.id, entries.size());
            entries.push_back(SeatHoldEntry{*seat, transfer.id, transfer.user_data_128,
                                            EntryState::pending, at_us, 0});
            timeouts_us.push_back(std::int64_t{transfer.timeout_s} * us_per_s);
            continue;
        }
        const bool posted = transfer.flags & abi::transfer_flags::post_pending_transfer;
        if (!posted && !(transfer.flags & abi::transfer_flags::void_pending_transfer)) continue;
        const auto hold = index_of.find(transfer.pending_id);
        if (hold == index_of.end()) continue;
        SeatHoldEntry& entry = entries[hold->second];
        entry.state = posted ? EntryState::posted : EntryState::voided;
        entry.resolved_at_us = at_us;
    }
    for (std::size_t i = 0; i < entries.size(); i++) {
        SeatHoldEntry& entry = entries[i];
        if (entry.state != EntryState::pending || timeouts_us[i] == 0) continue;
        if (entry.held_at_us + timeouts_us[i] > now_us) continue;
        entry.state = EntryState::expired;
        entry.resolved_at_us = entry.held_at_us + timeouts_us[i];
    }
    return entries;
}

}  // namespace tigerfans::accounting::tb::seat_model

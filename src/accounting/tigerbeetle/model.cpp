// Account ids, transfer builders and status meanings for the TigerBeetle ledger.
#include "accounting/tigerbeetle/model.hpp"

#include <unordered_map>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/ids.hpp"

namespace tigerfans::accounting::tb::model {

namespace status = abi::create_transfer_status;

namespace {

// The ids the Python demo used for the same accounts (x110 goodies, x120 class A, x220 class
// B; operator +0, budget +5, spent +9). Funding transfers take budget + 1.
constexpr u128 base_id(Resource resource) {
    switch (resource) {
        case Resource::class_a: return 2120;
        case Resource::class_b: return 2220;
        case Resource::goodies: return 2110;
    }
    return 0;
}

abi::Account account(u128 id, std::uint16_t flags) {
    abi::Account account{};
    account.id = id;
    account.ledger = ledger;
    account.code = account_code;
    account.flags = flags;
    return account;
}

// Budget -> Spent of one unit: the shape shared by holds, posts, voids and late bookings.
abi::Transfer spend(Resource resource, u128 id, std::uint16_t code, std::uint16_t flags) {
    const ResourceIds ids = ids_of(resource);
    abi::Transfer transfer{};
    transfer.id = id;
    transfer.debit_account_id = ids.budget_account;
    transfer.credit_account_id = ids.spent_account;
    transfer.amount = hold_amount;
    transfer.ledger = ledger;
    transfer.code = code;
    transfer.flags = flags;
    return transfer;
}

abi::Transfer resolve(Resource resource, u128 hold_id, Derivation kind, std::uint16_t flags) {
    TF_ASSERT(hold_id != 0);
    abi::Transfer transfer = spend(resource, derive_id(hold_id, kind), hold_code, flags);
    transfer.pending_id = hold_id;
    TF_ASSERT(transfer.amount == hold_amount);  // Never 0: posting 0 voids the whole hold.
    return transfer;
}

// Posting and voiding mirror each other: a hold resolved the same way by another id is done, one
// resolved the other way is a conflict.
std::optional<Resolution> resolution(std::uint32_t code, std::uint32_t same_way,
                                     std::uint32_t other_way) {
    if (is_success(code) || code == same_way) return Resolution::done;
    if (code == other_way) return Resolution::conflict;
    if (code == status::pending_transfer_expired) return Resolution::expired;
    // A resolution that met "not found" burns its derived id; a retry meets id_already_failed.
    if (code == status::pending_transfer_not_found || code == status::id_already_failed) {
        return Resolution::not_found;
    }
    return std::nullopt;
}

}  // namespace

ResourceIds ids_of(Resource resource) {
    const u128 base = base_id(resource);
    TF_ASSERT(base != 0);
    return ResourceIds{base, base + 5, base + 9, base + 6};
}

std::array<abi::Account, 3 * resource_count> accounts() {
    // The cap that makes overselling impossible: a hold beyond the funding is refused.
    constexpr std::uint16_t budget_flags = abi::account_flags::debits_must_not_exceed_credits;
    std::array<abi::Account, 3 * resource_count> all{};
    std::size_t next = 0;
    for (Resource resource : resources) {
        const ResourceIds ids = ids_of(resource);
        all[next++] = account(ids.operator_account, 0);
        all[next++] = account(ids.budget_account, budget_flags);
        all[next++] = account(ids.spent_account, 0);
    }
    return all;
}

abi::Transfer funding(Resource resource, std::uint64_t capacity) {
    const ResourceIds ids = ids_of(resource);
    abi::Transfer transfer{};
    transfer.id = ids.funding_transfer;
    transfer.debit_account_id = ids.operator_account;
    transfer.credit_account_id = ids.budget_account;
    transfer.amount = capacity;
    transfer.ledger = ledger;
    transfer.code = funding_code;
    return transfer;
}

abi::Transfer hold(Resource resource, u128 hold_id, std::uint32_t timeout_s, u128 order_id) {
    TF_ASSERT(hold_id != 0 && hold_id != u128_max);
    abi::Transfer transfer = spend(resource, hold_id, hold_code, abi::transfer_flags::pending);
    transfer.timeout_s = timeout_s;
    transfer.user_data_128 = order_id;
    return transfer;
}

abi::Transfer post(Resource resource, u128 hold_id) {
    return resolve(resource, hold_id, Derivation::post, abi::transfer_flags::post_pending_transfer);
}

abi::Transfer void_hold(Resource resource, u128 hold_id) {
    return resolve(resource, hold_id, Derivation::void_,
                   abi::transfer_flags::void_pending_transfer);
}

abi::Transfer late_booking(Resource resource, u128 hold_id, u128 order_id) {
    TF_ASSERT(hold_id != 0);
    abi::Transfer transfer =
        spend(resource, derive_id(hold_id, Derivation::late_booking), late_booking_code, 0);
    transfer.user_data_128 = order_id;
    return transfer;
}

namespace {
constexpr std::int64_t ns_per_us = 1'000;
constexpr std::int64_t us_per_s = 1'000'000;

std::int64_t micros(std::uint64_t cluster_ns) {
    return static_cast<std::int64_t>(cluster_ns / ns_per_us);
}

LedgerEntry entry_of(Resource resource, const abi::Transfer& transfer, EntryState state) {
    LedgerEntry entry;
    entry.transfer_id = transfer.id;
    entry.order_id = transfer.user_data_128;
    entry.resource = resource;
    entry.state = state;
    entry.created_at_us = micros(transfer.timestamp);
    return entry;
}
}  // namespace

std::vector<LedgerEntry> fold_entries(Resource resource, std::span<const abi::Transfer> transfers,
                                      std::int64_t now_us) {
    struct Hold {
        std::size_t index;  // Into `entries`.
        std::int64_t timeout_us;
    };
    std::vector<LedgerEntry> entries;
    std::unordered_map<u128, Hold, U128Hash> holds;
    constexpr std::uint16_t resolving =
        abi::transfer_flags::post_pending_transfer | abi::transfer_flags::void_pending_transfer;
    for (const abi::Transfer& transfer : transfers) {
        if (transfer.flags & abi::transfer_flags::pending) {
            holds.emplace(transfer.id,
                          Hold{entries.size(), std::int64_t{transfer.timeout_s} * us_per_s});
            entries.push_back(entry_of(resource, transfer, EntryState::pending));
        } else if (transfer.flags & resolving) {
            const auto hold = holds.find(transfer.pending_id);
            if (hold == holds.end()) continue;  // Not a hold this folder made.
            LedgerEntry& entry = entries[hold->second.index];
            const bool posted = transfer.flags & abi::transfer_flags::post_pending_transfer;
            entry.state = posted ? EntryState::posted : EntryState::voided;
            entry.resolved_at_us = micros(transfer.timestamp);
        } else if (transfer.code == late_booking_code) {
            LedgerEntry entry = entry_of(resource, transfer, EntryState::posted);
            entry.late = true;
            entry.resolved_at_us = entry.created_at_us;
            entries.push_back(entry);
        }
    }
    for (const auto& [id, hold] : holds) {
        LedgerEntry& entry = entries[hold.index];
        if (entry.state != EntryState::pending || hold.timeout_us == 0) continue;
        if (entry.created_at_us + hold.timeout_us > now_us) continue;
        entry.state = EntryState::expired;
        entry.resolved_at_us = entry.created_at_us + hold.timeout_us;
    }
    return entries;
}

bool is_success(std::uint32_t code) { return code == status::created || code == status::exists; }

bool is_account_ready(std::uint32_t code) {
    return code == abi::create_account_status::created ||
           code == abi::create_account_status::exists;
}

std::optional<bool> is_held(std::uint32_t code) {
    if (is_success(code)) return true;
    // exceeds_credits burns the id, so a retried hold meets id_already_failed: still sold out.
    if (code == status::exceeds_credits || code == status::id_already_failed) return false;
    return std::nullopt;
}

std::optional<bool> is_booked(std::uint32_t code) { return is_held(code); }

std::optional<Resolution> post_resolution(std::uint32_t code) {
    return resolution(code, status::pending_transfer_already_posted,
                      status::pending_transfer_already_voided);
}

std::optional<Resolution> void_resolution(std::uint32_t code) {
    return resolution(code, status::pending_transfer_already_voided,
                      status::pending_transfer_already_posted);
}

bool is_funded(std::uint32_t code) {
    return is_success(code) || code == status::exists_with_different_amount;
}

}  // namespace tigerfans::accounting::tb::model

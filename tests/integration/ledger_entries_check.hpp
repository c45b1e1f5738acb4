// What Ledger::entries() (and entries_of) must say after the same story on every backend: a paid
// hold (ticket and goodie posted), a failed one (voided), an open one (pending), and a lapsed one
// (expired) followed by a late booking of its own; each with the order id it was made for.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/core/ids.hpp"

namespace tigerfans::accounting::testing_entries {

struct Story {
    HoldRequest paid;
    HoldRequest failed;
    HoldRequest open;
    HoldRequest lapsed;  // Expired before its late booking.
};

inline const LedgerEntry* find_entry(const std::vector<LedgerEntry>& entries, u128 id) {
    const auto found = std::find_if(entries.begin(), entries.end(), [id](const LedgerEntry& entry) {
        return entry.transfer_id == id;
    });
    return found == entries.end() ? nullptr : &*found;
}

inline void expect_entry(const std::vector<LedgerEntry>& entries, u128 id, u128 order_id,
                         Resource resource, EntryState state, bool late = false) {
    const LedgerEntry* entry = find_entry(entries, id);
    ASSERT_NE(entry, nullptr) << "no entry for transfer " << u128_to_decimal(id);
    EXPECT_EQ(entry->order_id, order_id);
    EXPECT_EQ(entry->resource, resource);
    EXPECT_EQ(entry->state, state) << entry_state_name(entry->state);
    EXPECT_EQ(entry->late, late);
    EXPECT_GT(entry->created_at_us, 0);
    EXPECT_EQ(entry->resolved_at_us > 0, state != EntryState::pending);
}

inline void expect_story(const std::vector<LedgerEntry>& entries, const Story& story) {
    expect_entry(entries, story.paid.ticket_hold_id, story.paid.order_id,
                 resource_of(story.paid.cls), EntryState::posted);
    expect_entry(entries, story.paid.goodie_hold_id, story.paid.order_id, Resource::goodies,
                 EntryState::posted);
    expect_entry(entries, story.failed.ticket_hold_id, story.failed.order_id,
                 resource_of(story.failed.cls), EntryState::voided);
    expect_entry(entries, story.open.ticket_hold_id, story.open.order_id,
                 resource_of(story.open.cls), EntryState::pending);
    expect_entry(entries, story.lapsed.ticket_hold_id, story.lapsed.order_id,
                 resource_of(story.lapsed.cls), EntryState::expired);
    expect_entry(entries, derive_id(story.lapsed.ticket_hold_id, Derivation::late_booking),
                 story.lapsed.order_id, resource_of(story.lapsed.cls), EntryState::posted, true);
}

// What Ledger::entries_of(order) must say: the entries of the whole ledger that carry the order,
// each as the whole ledger has it, and no other.
inline void expect_entries_of(const std::vector<LedgerEntry>& own,
                              const std::vector<LedgerEntry>& all, u128 order_id) {
    std::size_t carried = 0;
    for (const LedgerEntry& entry : all) {
        if (entry.order_id != order_id) continue;
        carried++;
        const LedgerEntry* found = find_entry(own, entry.transfer_id);
        ASSERT_NE(found, nullptr) << "no entry for transfer " << u128_to_decimal(entry.transfer_id);
        EXPECT_EQ(found->resource, entry.resource);
        EXPECT_EQ(found->state, entry.state) << entry_state_name(found->state);
        EXPECT_EQ(found->late, entry.late);
    }
    EXPECT_GT(carried, 0u);
    EXPECT_EQ(own.size(), carried);
    for (const LedgerEntry& entry : own) EXPECT_EQ(entry.order_id, order_id);
}

}  // namespace tigerfans::accounting::testing_entries

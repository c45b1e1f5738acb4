// The TigerBeetle account model as events: fixed ids, exact posting amounts, ids derived from
// the hold, and what each create status means for a hold, a post, a void or a late booking.
#include "accounting/tigerbeetle/model.hpp"

#include <gtest/gtest.h>

#include <set>

#include "tigerfans/core/ids.hpp"

namespace tigerfans::accounting::tb {
namespace {

namespace status = abi::create_transfer_status;

constexpr u128 hold_id = make_u128(0x0000019a'12345678, 0x9abcdef0'11223344);

TEST(TbModel, EveryResourceHasThreeFixedAccountsOnLedger2000WithOnlyTheBudgetCapped) {
    // Nine distinct ids; Budget alone refuses to go negative, which is what prevents oversell.
    std::set<u128> ids;
    for (const abi::Account& account : model::accounts()) {
        ids.insert(account.id);
        EXPECT_EQ(account.ledger, 2000u);
        EXPECT_NE(account.code, 0u);
    }
    EXPECT_EQ(ids.size(), 9u);
    for (Resource resource : model::resources) {
        const auto account_ids = model::ids_of(resource);
        for (const abi::Account& account : model::accounts()) {
            const bool capped = account.flags == abi::account_flags::debits_must_not_exceed_credits;
            if (account.id == account_ids.budget_account) {
                EXPECT_TRUE(capped);
            }
            if (account.id == account_ids.spent_account) {
                EXPECT_FALSE(capped);
            }
        }
    }
}

TEST(TbModel, FundingMovesTheCapacityFromOperatorToBudgetUnderAFixedId) {
    // The same id on every start is what makes a restart meet `exists` instead of re-funding.
    const abi::Transfer first = model::funding(Resource::class_a, 50);
    const abi::Transfer again = model::funding(Resource::class_a, 50);
    EXPECT_EQ(first.id, again.id);
    EXPECT_NE(first.id, model::funding(Resource::class_b, 50).id);
    EXPECT_EQ(first.debit_account_id, model::ids_of(Resource::class_a).operator_account);
    EXPECT_EQ(first.credit_account_id, model::ids_of(Resource::class_a).budget_account);
    EXPECT_EQ(first.amount, 50u);
    EXPECT_EQ(first.flags, 0u);
}

TEST(TbModel, AHoldIsAPendingTransferOfOneFromBudgetToSpentWithTheTimeout) {
    // Pending with a timeout: the cluster releases it by itself, no cleanup job.
    const abi::Transfer hold = model::hold(Resource::goodies, hold_id, 300, 4242);
    EXPECT_EQ(hold.id, hold_id);
    EXPECT_EQ(hold.user_data_128, u128{4242});  // The order it was made for.
    EXPECT_EQ(hold.flags, abi::transfer_flags::pending);
    EXPECT_EQ(hold.timeout_s, 300u);
    EXPECT_EQ(hold.amount, 1u);
    EXPECT_EQ(hold.debit_account_id, model::ids_of(Resource::goodies).budget_account);
    EXPECT_EQ(hold.credit_account_id, model::ids_of(Resource::goodies).spent_account);
}

TEST(TbModel, PostingUsesTheExactAmountAndAnIdDerivedFromTheHold) {
    // Amount 0 would void the hold (since 0.16); a derived id makes a retried post meet exists.
    const abi::Transfer post = model::post(Resource::class_b, hold_id);
    EXPECT_EQ(post.amount, 1u);
    EXPECT_EQ(post.pending_id, hold_id);
    EXPECT_EQ(post.id, derive_id(hold_id, Derivation::post));
    EXPECT_EQ(post.flags, abi::transfer_flags::post_pending_transfer);
    EXPECT_EQ(post.timeout_s, 0u);
    EXPECT_EQ(post.code, model::hold(Resource::class_b, hold_id, 1, 0).code);
}

TEST(TbModel, VoidingAndLateBookingUseTheirOwnDerivedIds) {
    // Three distinct ids per hold: post, void and late booking can never collide.
    const abi::Transfer voided = model::void_hold(Resource::class_a, hold_id);
    const abi::Transfer late = model::late_booking(Resource::class_a, hold_id, 4242);
    EXPECT_EQ(voided.id, derive_id(hold_id, Derivation::void_));
    EXPECT_EQ(voided.flags, abi::transfer_flags::void_pending_transfer);
    EXPECT_EQ(voided.pending_id, hold_id);
    EXPECT_EQ(late.id, derive_id(hold_id, Derivation::late_booking));
    EXPECT_EQ(late.user_data_128, u128{4242});
    EXPECT_EQ(voided.user_data_128, u128{0});  // The cluster copies the hold's.
    EXPECT_EQ(late.flags, 0u);                 // A plain transfer: booked at once.
    EXPECT_EQ(late.pending_id, 0u);
    EXPECT_EQ(late.amount, 1u);
    EXPECT_NE(voided.id, model::post(Resource::class_a, hold_id).id);
    EXPECT_NE(late.id, voided.id);
}

TEST(TbModel, HoldAndLateBookingStatusesMeanHeldSoldOutOrUnexpected) {
    // A retried hold after exceeds_credits meets id_already_failed: still sold out.
    EXPECT_EQ(model::is_held(status::created), true);
    EXPECT_EQ(model::is_held(status::exists), true);
    EXPECT_EQ(model::is_held(status::exceeds_credits), false);
    EXPECT_EQ(model::is_held(status::id_already_failed), false);
    EXPECT_EQ(model::is_held(status::debit_account_not_found), std::nullopt);
    EXPECT_EQ(model::is_booked(status::exceeds_credits), false);
    EXPECT_EQ(model::is_booked(status::exists), true);
}

TEST(TbModel, PostAndVoidStatusesMapToResolutions) {
    // Expired, resolved the other way, or unknown hold; anything else is unexpected.
    EXPECT_EQ(model::post_resolution(status::created), Resolution::done);
    EXPECT_EQ(model::post_resolution(status::exists), Resolution::done);
    EXPECT_EQ(model::post_resolution(status::pending_transfer_expired), Resolution::expired);
    EXPECT_EQ(model::post_resolution(status::pending_transfer_already_voided),
              Resolution::conflict);
    EXPECT_EQ(model::post_resolution(status::pending_transfer_not_found), Resolution::not_found);
    EXPECT_EQ(model::post_resolution(status::exceeds_credits), std::nullopt);
    EXPECT_EQ(model::void_resolution(status::exists), Resolution::done);
    EXPECT_EQ(model::void_resolution(status::pending_transfer_already_posted),
              Resolution::conflict);
    EXPECT_EQ(model::void_resolution(status::pending_transfer_expired), Resolution::expired);
    EXPECT_EQ(model::void_resolution(status::pending_transfer_not_pending), std::nullopt);
}

TEST(TbModel, FundingThatExistsWithAnotherAmountCountsAsFunded) {
    // A changed capacity keeps the funded one (logged), it does not stop the server.
    EXPECT_TRUE(model::is_funded(status::created));
    EXPECT_TRUE(model::is_funded(status::exists));
    EXPECT_TRUE(model::is_funded(status::exists_with_different_amount));
    EXPECT_FALSE(model::is_funded(status::debit_account_not_found));
}

TEST(TbModel, FoldingTransfersGivesEachHoldItsStateAndEachLateBookingItsOwn) {
    const u128 order = 4242;
    const u128 paid = 101, failed = 102, open = 103, lapsed = 104, booked_for = 105;
    constexpr std::uint64_t ns_per_s = 1'000'000'000;
    auto at = [](abi::Transfer transfer, std::uint64_t seconds) {
        transfer.timestamp = seconds * ns_per_s;
        return transfer;
    };
    const std::vector<abi::Transfer> transfers = {
        at(model::hold(Resource::class_a, paid, 60, order), 1),
        at(model::hold(Resource::class_a, failed, 60, order), 2),
        at(model::hold(Resource::class_a, open, 60, order), 3),
        at(model::hold(Resource::class_a, lapsed, 5, order), 4),
        at(model::post(Resource::class_a, paid), 5),
        at(model::void_hold(Resource::class_a, failed), 6),
        at(model::late_booking(Resource::class_a, booked_for, order), 7),
    };
    const std::int64_t now_us = 20 * 1'000'000;
    const std::vector<LedgerEntry> entries =
        model::fold_entries(Resource::class_a, transfers, now_us);
    ASSERT_EQ(entries.size(), 5u);
    EXPECT_EQ(entries[0].state, EntryState::posted);
    EXPECT_EQ(entries[0].resolved_at_us, 5'000'000);
    EXPECT_EQ(entries[1].state, EntryState::voided);
    EXPECT_EQ(entries[2].state, EntryState::pending);  // 3 s + 60 s is after now.
    EXPECT_EQ(entries[3].state, EntryState::expired);  // 4 s + 5 s is before now.
    EXPECT_EQ(entries[3].resolved_at_us, 9'000'000);
    EXPECT_TRUE(entries[4].late);
    EXPECT_EQ(entries[4].state, EntryState::posted);
    EXPECT_EQ(entries[4].transfer_id, derive_id(booked_for, Derivation::late_booking));
    for (const LedgerEntry& entry : entries) EXPECT_EQ(entry.order_id, order);
}

}  // namespace
}  // namespace tigerfans::accounting::tb

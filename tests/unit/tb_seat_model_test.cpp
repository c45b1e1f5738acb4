// Seats as TigerBeetle events: every seat its own capped account funded once with 1, fixed ids
// apart from generated and derived ones, a hold of several seats one closed chain in seat
// order, and what a chain's statuses and a seat account's balances mean.
#include "accounting/tigerbeetle/seat_model.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "tigerfans/core/ids.hpp"

namespace tigerfans::accounting::tb {
namespace {

namespace status = abi::create_transfer_status;
using seating::SeatState;

constexpr std::uint64_t key = 0x0abc'def0'1234'5678;
constexpr u128 hold_a = make_u128(0x0000019a'12345678, 0x9abcdef0'11223344);
constexpr u128 hold_b = make_u128(0x0000019a'12345679, 0x0000'0000'0000'0001);
constexpr u128 hold_c = make_u128(0x0000019a'1234567a, 0x0000'0000'0000'0002);

TEST(TbSeatModel, EverySeatIsACappedAccountFundedOnceWithOne) {
    const auto accounts = seat_model::accounts(key, 500);
    ASSERT_EQ(accounts.size(), 502u);
    std::set<u128> ids;
    for (const abi::Account& account : accounts) {
        ids.insert(account.id);
        EXPECT_EQ(account.ledger, seat_model::ledger);
    }
    EXPECT_EQ(ids.size(), 502u);
    EXPECT_EQ(accounts[2].id, seat_model::seat_account_id(key, 0));
    EXPECT_EQ(accounts[2].flags, abi::account_flags::debits_must_not_exceed_credits);
    EXPECT_EQ(accounts[0].flags, 0u);  // The operator goes negative as it funds.
    const auto fundings = seat_model::fundings(key, 500);
    ASSERT_EQ(fundings.size(), 500u);
    EXPECT_EQ(fundings[7].credit_account_id, seat_model::seat_account_id(key, 7));
    EXPECT_EQ(fundings[7].debit_account_id, seat_model::operator_account_id(key));
    EXPECT_EQ(fundings[7].amount, 1u);
    EXPECT_EQ(fundings[7].id, seat_model::seat_funding_id(key, 7));
}

TEST(TbSeatModel, FixedIdsNeverMeetGeneratedOrDerivedOnes) {
    const u128 fixed = seat_model::seat_funding_id(key, 3);
    EXPECT_EQ(fixed >> derivation_shift, 0x8u);
    for (Derivation kind : {Derivation::post, Derivation::void_, Derivation::late_booking}) {
        EXPECT_NE(derive_id(hold_a, kind) >> derivation_shift, 0x8u);
    }
    EXPECT_EQ(hold_a >> derivation_shift, 0u);
    EXPECT_NE(seat_model::seat_account_id(key, 3), seat_model::seat_account_id(key + 1, 3));
}

TEST(TbSeatModel, AHoldOfSeveralSeatsIsOneClosedChainInSeatOrder) {
    const std::vector<seating::SeatId> seats = {4, 5, 9};
    const std::vector<u128> holds = {hold_a, hold_b, hold_c};
    const auto chain = seat_model::hold_chain(key, seats, holds, 300, 77);
    ASSERT_EQ(chain.size(), 3u);
    for (std::size_t i = 0; i < chain.size(); i++) {
        EXPECT_EQ(chain[i].debit_account_id, seat_model::seat_account_id(key, seats[i]));
        EXPECT_EQ(chain[i].credit_account_id, seat_model::sold_account_id(key));
        EXPECT_EQ(chain[i].amount, 1u);
        EXPECT_EQ(chain[i].timeout_s, 300u);
        EXPECT_EQ(chain[i].user_data_128, 77u);
        EXPECT_EQ(chain[i].id, holds[i]);
        EXPECT_TRUE(chain[i].flags & abi::transfer_flags::pending);
    }
    EXPECT_TRUE(chain[0].flags & abi::transfer_flags::linked);
    EXPECT_TRUE(chain[1].flags & abi::transfer_flags::linked);
    EXPECT_FALSE(chain[2].flags & abi::transfer_flags::linked);
    const auto one = seat_model::hold_chain(key, std::vector<seating::SeatId>{4},
                                            std::vector<u128>{hold_a}, 300, 77);
    EXPECT_EQ(one[0].flags, abi::transfer_flags::pending);
}

TEST(TbSeatModel, PostsAndVoidsUseIdsDerivedFromEachSeatsHold) {
    const abi::Transfer posted = seat_model::post(key, 4, hold_a);
    EXPECT_EQ(posted.id, derive_id(hold_a, Derivation::post));
    EXPECT_EQ(posted.pending_id, hold_a);
    EXPECT_EQ(posted.amount, 1u);  // Never 0: posting 0 would void.
    EXPECT_EQ(posted.flags, abi::transfer_flags::post_pending_transfer);
    const abi::Transfer voided = seat_model::void_hold(key, 4, hold_a);
    EXPECT_EQ(voided.id, derive_id(hold_a, Derivation::void_));
    EXPECT_EQ(voided.flags, abi::transfer_flags::void_pending_transfer);
}

TEST(TbSeatModel, AChainIsHeldWholeOrTakenWhenASeatWasGone) {
    using Outcome = seat_model::ChainOutcome;
    const auto outcome = [](std::vector<std::uint32_t> statuses) {
        return seat_model::chain_outcome(statuses);
    };
    EXPECT_EQ(outcome({status::created, status::created}), Outcome::held);
    // A retry stops at its first event, which exists: the chain was made whole before.
    EXPECT_EQ(outcome({status::exists, status::linked_event_failed}), Outcome::held);
    EXPECT_EQ(outcome({status::exists, status::created}), std::nullopt);  // Never whole.
    EXPECT_EQ(outcome({status::linked_event_failed, status::exceeds_credits,
                       status::linked_event_failed}),
              Outcome::taken);
    EXPECT_EQ(outcome({status::id_already_failed, status::linked_event_failed}), Outcome::taken);
    EXPECT_EQ(outcome({status::linked_event_failed, status::linked_event_failed}), std::nullopt);
    EXPECT_EQ(outcome({status::linked_event_failed, status::debit_account_not_found}),
              std::nullopt);
    EXPECT_EQ(outcome({status::linked_event_chain_open}), std::nullopt);
}

TEST(TbSeatModel, ASeatIsSoldHeldOrFreeByItsBalances) {
    abi::Account seat = seat_model::accounts(key, 1)[2];
    EXPECT_EQ(seat_model::state_of(seat), SeatState::sold);  // Not funded: nobody may hold it.
    seat.credits_posted = 1;
    EXPECT_EQ(seat_model::state_of(seat), SeatState::free);
    seat.debits_pending = 1;
    EXPECT_EQ(seat_model::state_of(seat), SeatState::held);
    seat.debits_pending = 0;
    seat.debits_posted = 1;
    EXPECT_EQ(seat_model::state_of(seat), SeatState::sold);
}

TEST(TbSeatModel, TheVenueKeyComesFromItsSeatDigestAndIsNeverZero) {
    seating::Venue venue;
    venue.seat_digest = std::string(64, '0');
    EXPECT_EQ(seat_model::venue_key(venue), 1u);
    venue.seat_digest = "f123456789abcdef" + std::string(48, '0');
    EXPECT_EQ(seat_model::venue_key(venue), 0x0123'4567'89ab'cdefu);
}

// The credits of the sold account fold into one entry per hold of this venue's seats: posted,
// voided, pending, or expired once its timeout passed; other venues' transfers are passed over.
TEST(TbSeatModel, TheSoldAccountsCreditsFoldIntoOneEntryPerHold) {
    constexpr std::uint64_t ns_per_s = 1'000'000'000;
    const std::vector<SeatId> seats{3, 4};
    const std::vector<u128> holds{hold_a, hold_b};
    std::vector<abi::Transfer> transfers = seat_model::hold_chain(key, seats, holds, 60, 77);
    transfers[0].timestamp = 100 * ns_per_s;
    transfers[1].timestamp = 100 * ns_per_s + 1;
    abi::Transfer brief =
        seat_model::hold_chain(key, std::vector<SeatId>{9}, std::vector<u128>{hold_c}, 10, 78)[0];
    brief.timestamp = 100 * ns_per_s + 2;
    transfers.push_back(brief);
    abi::Transfer posted = seat_model::post(key, 3, hold_a);
    posted.timestamp = 130 * ns_per_s;
    abi::Transfer voided = seat_model::void_hold(key, 4, hold_b);
    voided.timestamp = 131 * ns_per_s;
    abi::Transfer foreign = seat_model::hold_chain(key + 1, std::vector<SeatId>{5},
                                                   std::vector<u128>{hold_a + 9}, 10, 79)[0];
    transfers.insert(transfers.end(), {posted, voided, foreign});

    const std::int64_t now_us = 105'000'000;  // Before `brief` times out.
    auto entries = seat_model::hold_entries_of(key, 500, transfers, now_us);
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].seat, 3u);
    EXPECT_EQ(entries[0].hold_id, hold_a);
    EXPECT_EQ(entries[0].order_id, u128{77});
    EXPECT_EQ(entries[0].state, accounting::EntryState::posted);
    EXPECT_EQ(entries[0].held_at_us, 100'000'000);
    EXPECT_EQ(entries[0].resolved_at_us, 130'000'000);
    EXPECT_EQ(entries[1].state, accounting::EntryState::voided);
    EXPECT_EQ(entries[2].seat, 9u);
    EXPECT_EQ(entries[2].state, accounting::EntryState::pending);
    EXPECT_EQ(entries[2].resolved_at_us, 0);

    entries = seat_model::hold_entries_of(key, 500, transfers, 111'000'000);
    EXPECT_EQ(entries[2].state, accounting::EntryState::expired);
    EXPECT_EQ(entries[2].resolved_at_us, 110'000'000);
    EXPECT_TRUE(seat_model::hold_entries_of(key, 3, transfers, now_us).empty());  // Beyond it.
}

}  // namespace
}  // namespace tigerfans::accounting::tb

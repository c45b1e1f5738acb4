// The PostgreSQL ledger's rules without a database: capacity is never exceeded, post and void
// resolve a hold once (retries meet the status they left), expired holds cannot be posted, and
// late bookings happen once per hold and report the same outcome on a replay.
#include "accounting/postgres/batch_planner.hpp"

#include <gtest/gtest.h>

#include "tigerfans/core/ids.hpp"

namespace tigerfans::accounting::postgres {
namespace {

constexpr std::uint32_t timeout_s = 300;

Balances capacities(std::uint64_t class_a, std::uint64_t goodies) {
    Balances balances{};
    balances[static_cast<std::size_t>(Resource::class_a)].capacity = class_a;
    balances[static_cast<std::size_t>(Resource::class_b)].capacity = 10;
    balances[static_cast<std::size_t>(Resource::goodies)].capacity = goodies;
    return balances;
}

class BatchPlannerTest : public ::testing::Test {
protected:
    HoldRequest hold_request() {
        return HoldRequest{TicketClass::a, ids_.next(), ids_.next(), timeout_s};
    }
    static CommitRequest commit_request(const HoldRequest& hold, bool goodie_held = true) {
        return CommitRequest{hold.cls, hold.ticket_hold_id, hold.goodie_hold_id, goodie_held};
    }
    template <typename T>
    static T apply(BatchPlanner& planner, Operation operation) {
        return std::get<T>(planner.apply(operation));
    }
    static const Balance& of(const BatchPlanner& planner, Resource resource) {
        return planner.balances()[static_cast<std::size_t>(resource)];
    }

    IdGenerator ids_;
};

TEST_F(BatchPlannerTest, HoldsSucceedUntilCapacityIsReachedThenReportSoldOut) {
    BatchPlanner planner(capacities(2, 1), {});
    const auto first = apply<HoldResult>(planner, HoldOp{hold_request()});
    const auto second = apply<HoldResult>(planner, HoldOp{hold_request()});
    const auto third = apply<HoldResult>(planner, HoldOp{hold_request()});
    EXPECT_TRUE(first.ticket_held && first.goodie_held);
    EXPECT_TRUE(second.ticket_held);
    EXPECT_FALSE(second.goodie_held);  // One goodie only.
    EXPECT_FALSE(third.ticket_held || third.goodie_held);
    EXPECT_EQ(of(planner, Resource::class_a).held, 2u);
    EXPECT_EQ(of(planner, Resource::goodies).held, 1u);
    EXPECT_EQ(planner.rows().size(), 3u);  // Two ticket holds, one goodie hold: nothing else.
}

TEST_F(BatchPlannerTest, ASoldOutTicketLeavesNoGoodieHoldBehind) {
    BatchPlanner planner(capacities(0, 5), {});
    const auto result = apply<HoldResult>(planner, HoldOp{hold_request()});
    EXPECT_FALSE(result.ticket_held || result.goodie_held);
    EXPECT_EQ(of(planner, Resource::goodies).held, 0u);
    EXPECT_TRUE(planner.rows().empty());
}

TEST_F(BatchPlannerTest, AReplayedHoldAnswersWhatTheFirstAttemptGotWithoutHoldingTwice) {
    BatchPlanner planner(capacities(5, 5), {});
    const HoldRequest request = hold_request();
    apply<HoldResult>(planner, HoldOp{request});
    const auto replay = apply<HoldResult>(planner, HoldOp{request});
    EXPECT_TRUE(replay.ticket_held && replay.goodie_held);
    EXPECT_EQ(of(planner, Resource::class_a).held, 1u);
}

// post, post again, void; and void, void again, post: each hold resolves exactly once.
TEST_F(BatchPlannerTest, AHoldResolvesOnceAndRetriesMeetTheStatusItLeft) {
    BatchPlanner planner(capacities(5, 5), {});
    const HoldRequest paid = hold_request();
    const HoldRequest failed = hold_request();
    apply<HoldResult>(planner, HoldOp{paid});
    apply<HoldResult>(planner, HoldOp{failed});
    const auto commit = apply<CommitResult>(planner, CommitOp{commit_request(paid)});
    EXPECT_EQ(commit.ticket, Resolution::done);
    EXPECT_EQ(commit.goodie, Resolution::done);
    EXPECT_EQ(apply<CommitResult>(planner, CommitOp{commit_request(paid)}).ticket,
              Resolution::done);
    apply<Done>(planner, CancelOp{paid.cls, paid.ticket_hold_id, paid.goodie_hold_id});
    apply<Done>(planner, CancelOp{failed.cls, failed.ticket_hold_id, failed.goodie_hold_id});
    apply<Done>(planner, CancelOp{failed.cls, failed.ticket_hold_id, failed.goodie_hold_id});
    EXPECT_EQ(apply<CommitResult>(planner, CommitOp{commit_request(failed)}).ticket,
              Resolution::conflict);
    EXPECT_EQ(of(planner, Resource::class_a).sold, 1u);  // The void after the post did nothing.
    EXPECT_EQ(of(planner, Resource::class_a).held, 0u);
    EXPECT_EQ(of(planner, Resource::goodies).sold, 1u);
}

TEST_F(BatchPlannerTest, ResolvingAnUnknownHoldOrAHoldOfAnotherClassIsNotFound) {
    BatchPlanner planner(capacities(5, 5), {});
    HoldRequest request = hold_request();
    EXPECT_EQ(apply<CommitResult>(planner, CommitOp{commit_request(request)}).ticket,
              Resolution::not_found);
    apply<HoldResult>(planner, HoldOp{request});
    request.cls = TicketClass::b;
    EXPECT_EQ(apply<CommitResult>(planner, CommitOp{commit_request(request)}).ticket,
              Resolution::not_found);
}

// Loaded rows carry what earlier batches did: here a hold the sweep found expired.
TEST_F(BatchPlannerTest, AnExpiredHoldCannotBePostedOrVoided) {
    const HoldRequest request = hold_request();
    HoldRows rows;
    rows.emplace(request.ticket_hold_id, HoldRow{Resource::class_a, HoldStatus::expired});
    BatchPlanner planner(capacities(5, 5), std::move(rows));
    EXPECT_EQ(apply<CommitResult>(planner, CommitOp{commit_request(request, false)}).ticket,
              Resolution::expired);
    apply<Done>(planner, CancelOp{request.cls, request.ticket_hold_id, 0});
    EXPECT_EQ(planner.rows().at(request.ticket_hold_id).status, HoldStatus::expired);
    EXPECT_FALSE(planner.rows().at(request.ticket_hold_id).changed);
}

TEST_F(BatchPlannerTest, ALateBookingBooksOnceAndAReplayReportsTheSameOutcome) {
    const HoldRequest request = hold_request();
    HoldRows rows;
    rows.emplace(request.ticket_hold_id, HoldRow{Resource::class_a, HoldStatus::expired});
    rows.emplace(request.goodie_hold_id, HoldRow{Resource::goodies, HoldStatus::expired});
    BatchPlanner planner(capacities(1, 1), std::move(rows));
    const auto first = apply<BookResult>(planner, BookLateOp{commit_request(request)});
    const auto replay = apply<BookResult>(planner, BookLateOp{commit_request(request)});
    EXPECT_TRUE(first.got_ticket && first.got_goodie);
    EXPECT_TRUE(replay.got_ticket && replay.got_goodie);
    EXPECT_EQ(of(planner, Resource::class_a).sold, 1u);
    EXPECT_EQ(of(planner, Resource::goodies).sold, 1u);
    const u128 booking_id = derive_id(request.ticket_hold_id, Derivation::late_booking);
    EXPECT_EQ(planner.rows().at(booking_id).status, HoldStatus::posted);
}

// Nothing left: the refusal is recorded, so a replay after capacity came back still reports it.
TEST_F(BatchPlannerTest, ARefusedLateBookingStaysRefusedOnReplay) {
    const HoldRequest request = hold_request();
    BatchPlanner full(capacities(0, 1), {});
    EXPECT_FALSE(apply<BookResult>(full, BookLateOp{commit_request(request)}).got_ticket);
    const u128 booking_id = derive_id(request.ticket_hold_id, Derivation::late_booking);
    ASSERT_EQ(full.rows().at(booking_id).status, HoldStatus::rejected);
    HoldRows stored;
    stored.emplace(booking_id, HoldRow{Resource::class_a, HoldStatus::rejected});
    BatchPlanner later(capacities(5, 1), std::move(stored));
    const auto replay = apply<BookResult>(later, BookLateOp{commit_request(request)});
    EXPECT_FALSE(replay.got_ticket || replay.got_goodie);
    EXPECT_EQ(of(later, Resource::class_a).sold, 0u);
}

// A hold still pending (it landed after the commit found none) gives its unit to the booking,
// whose id the order names as on TigerBeetle (the reconciler finds that id posted): never a
// second ticket, even with the last unit held by that very hold.
TEST_F(BatchPlannerTest, ALateBookingOfAPendingHoldVoidsItAndBooksItsUnit) {
    BatchPlanner planner(capacities(1, 1), {});
    const HoldRequest request = hold_request();
    apply<HoldResult>(planner, HoldOp{request});
    const auto booked = apply<BookResult>(planner, BookLateOp{commit_request(request)});
    EXPECT_TRUE(booked.got_ticket && booked.got_goodie);
    EXPECT_EQ(of(planner, Resource::class_a).sold, 1u);
    EXPECT_EQ(of(planner, Resource::class_a).held, 0u);
    EXPECT_EQ(of(planner, Resource::goodies).sold, 1u);
    EXPECT_EQ(planner.rows().at(request.ticket_hold_id).status, HoldStatus::voided);
    const u128 booking_id = derive_id(request.ticket_hold_id, Derivation::late_booking);
    EXPECT_EQ(planner.rows().at(booking_id).status, HoldStatus::posted);
    const auto replay = apply<BookResult>(planner, BookLateOp{commit_request(request)});
    EXPECT_TRUE(replay.got_ticket && replay.got_goodie);
    EXPECT_EQ(of(planner, Resource::class_a).sold, 1u);
}

// A capacity lowered below what is sold and held (applied at a restart) still lets the hold's
// own unit go to its booking.
TEST_F(BatchPlannerTest, ALateBookingOfAPendingHoldBooksItsUnitUnderALoweredCapacity) {
    const HoldRequest request = hold_request();
    HoldRows rows;
    rows.emplace(request.ticket_hold_id, HoldRow{Resource::class_a, HoldStatus::pending});
    rows.emplace(request.goodie_hold_id, HoldRow{Resource::goodies, HoldStatus::pending});
    Balances lowered = capacities(0, 0);
    lowered[static_cast<std::size_t>(Resource::class_a)].held = 1;
    lowered[static_cast<std::size_t>(Resource::goodies)].held = 1;
    BatchPlanner planner(lowered, std::move(rows));
    const auto booked = apply<BookResult>(planner, BookLateOp{commit_request(request)});
    EXPECT_TRUE(booked.got_ticket && booked.got_goodie);
    EXPECT_EQ(of(planner, Resource::class_a).sold, 1u);
    EXPECT_EQ(of(planner, Resource::class_a).held, 0u);
}

// A hold posted already is the ticket: nothing is booked beside it.
TEST_F(BatchPlannerTest, ALateBookingOfAPostedHoldBooksNothingMore) {
    BatchPlanner planner(capacities(5, 5), {});
    const HoldRequest request = hold_request();
    apply<HoldResult>(planner, HoldOp{request});
    apply<CommitResult>(planner, CommitOp{commit_request(request)});
    const auto booked = apply<BookResult>(planner, BookLateOp{commit_request(request)});
    EXPECT_TRUE(booked.got_ticket && booked.got_goodie);
    EXPECT_EQ(of(planner, Resource::class_a).sold, 1u);
    EXPECT_EQ(planner.rows().size(), 2u);
}

TEST_F(BatchPlannerTest, InventoryReflectsEarlierOperationsOfTheSameBatch) {
    BatchPlanner planner(capacities(3, 1), {});
    const HoldRequest request = hold_request();
    apply<HoldResult>(planner, HoldOp{request});
    apply<HoldResult>(planner, HoldOp{hold_request()});
    apply<CommitResult>(planner, CommitOp{commit_request(request)});
    const auto inventory = apply<Inventory>(planner, InventoryOp{});
    EXPECT_EQ(inventory.class_a.sold, 1u);
    EXPECT_EQ(inventory.class_a.held, 1u);
    EXPECT_EQ(inventory.class_a.available(), 1u);
    EXPECT_EQ(inventory.goodies.available(), 0u);
}

TEST_F(BatchPlannerTest, ABatchReadsEveryHoldAndLateBookingItNames) {
    const HoldRequest request = hold_request();
    const std::vector<Operation> operations = {HoldOp{request}, InventoryOp{},
                                               CancelOp{TicketClass::b, 7, 0}};
    const std::vector<u128> ids = referenced_ids(operations);
    const auto contains = [&](u128 id) {
        return std::find(ids.begin(), ids.end(), id) != ids.end();
    };
    EXPECT_EQ(ids.size(), 6u);
    EXPECT_TRUE(contains(request.goodie_hold_id));
    EXPECT_TRUE(contains(derive_id(request.ticket_hold_id, Derivation::late_booking)));
    EXPECT_TRUE(contains(7));
}

TEST_F(BatchPlannerTest, NamesOfStatusesAndResourcesRoundTrip) {
    for (HoldStatus status : {HoldStatus::pending, HoldStatus::posted, HoldStatus::voided,
                              HoldStatus::expired, HoldStatus::rejected}) {
        EXPECT_EQ(parse_hold_status(hold_status_name(status)), status);
    }
    for (Resource resource : {Resource::class_a, Resource::class_b, Resource::goodies}) {
        EXPECT_EQ(parse_resource(resource_name(resource)), resource);
    }
    EXPECT_FALSE(parse_resource("tickets").has_value());
}

}  // namespace
}  // namespace tigerfans::accounting::postgres

// The ledger's reservations (holds, posts, voids, late bookings) over the real transfer batcher
// and a test double of the cluster that keeps each resource's stock: once a goodie hold is
// refused for lack of balance, holds carry only the ticket; a void, a taken goodie hold or an
// expired one makes goodies worth asking for again; while they look gone one hold per retry
// interval still asks; and the double's balance, like the cluster's, refuses every goodie
// beyond the stock. Time is a manual clock; the double answers in a later turn of the loop.
#include "accounting/tigerbeetle/reservations.hpp"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <map>

#include "accounting/tigerbeetle/goodie_outlook.hpp"
#include "accounting/tigerbeetle/model.hpp"
#include "support/run_async.hpp"

namespace tigerfans::accounting::tb {
namespace {

namespace status = abi::create_transfer_status;
using Clock = GoodieOutlook::Clock;
using testing::run_async;

constexpr auto retry_interval = std::chrono::milliseconds(1000);

// A cluster that keeps, per resource, the stock left and the holds still pending; holds and
// late bookings beyond the stock are refused with exceeds_credits, as the Budget account's
// flag makes the real cluster do. Counts the goodie transfers it was sent.
class StockCluster final : public PacketSubmitter {
public:
    StockCluster(asio::io_context& io, std::uint64_t tickets, std::uint64_t goodies) : io_(io) {
        left_[Resource::class_a] = tickets;
        left_[Resource::class_b] = tickets;
        left_[Resource::goodies] = goodies;
    }

    std::size_t goodie_transfers = 0;

    // The cluster's timeout: the hold lapses and its unit is back in stock.
    void expire(u128 hold_id) {
        auto hold = pending_.find(hold_id);
        ASSERT_NE(hold, pending_.end());
        left_[hold->second]++;
        pending_.erase(hold);
        expired_[hold_id] = true;
    }

    std::uint64_t left(Resource resource) { return left_[resource]; }

    asio::awaitable<Result<abi::PacketStatus>> request(abi::Operation operation,
                                                       std::span<const std::byte> events,
                                                       std::vector<std::byte>& results) override {
        EXPECT_EQ(operation, abi::Operation::create_transfers);
        co_await asio::post(io_, asio::use_awaitable);  // Others queue meanwhile.
        const std::size_t count = events.size() / sizeof(abi::Transfer);
        results.resize(count * sizeof(abi::CreateResult));
        for (std::size_t i = 0; i < count; i++) {
            abi::Transfer transfer;
            std::memcpy(&transfer, events.data() + i * sizeof(transfer), sizeof(transfer));
            const abi::CreateResult result{0, apply(transfer), 0};
            std::memcpy(results.data() + i * sizeof(result), &result, sizeof(result));
        }
        co_return abi::PacketStatus::ok;
    }

private:
    static Resource resource_of_account(u128 budget_account) {
        for (Resource resource : model::resources) {
            if (model::ids_of(resource).budget_account == budget_account) return resource;
        }
        ADD_FAILURE() << "not a Budget account";
        return Resource::class_a;
    }

    std::uint32_t apply(const abi::Transfer& transfer) {
        const Resource resource = resource_of_account(transfer.debit_account_id);
        if (resource == Resource::goodies) goodie_transfers++;
        if (transfer.flags & abi::transfer_flags::post_pending_transfer) {
            return resolve(transfer.pending_id, false);
        }
        if (transfer.flags & abi::transfer_flags::void_pending_transfer) {
            return resolve(transfer.pending_id, true);
        }
        if (left_[resource] == 0) return status::exceeds_credits;
        left_[resource]--;
        if (transfer.flags & abi::transfer_flags::pending) pending_[transfer.id] = resource;
        return status::created;
    }

    std::uint32_t resolve(u128 hold_id, bool voiding) {
        if (expired_.count(hold_id) > 0) return status::pending_transfer_expired;
        auto hold = pending_.find(hold_id);
        if (hold == pending_.end()) return status::pending_transfer_not_found;
        if (voiding) left_[hold->second]++;
        pending_.erase(hold);
        return status::created;
    }

    asio::io_context& io_;
    std::map<Resource, std::uint64_t> left_;
    std::map<u128, Resource> pending_;
    std::map<u128, bool> expired_;
};

struct Rig {
    Rig(std::uint64_t tickets, std::uint64_t goodies)
        : cluster(io, tickets, goodies),
          executor(cluster, abi::Operation::create_transfers, 8189),
          batcher(io.get_executor(), executor.as_execute(), 8189, 100'000),
          reservations(batcher, retry_interval, [this] { return now; }) {}

    HoldRequest next_hold(TicketClass cls = TicketClass::a) {
        const u128 ticket = next_id++;
        const u128 goodie = next_id++;
        return HoldRequest{cls, ticket, goodie, 300, 0};
    }

    HoldResult hold(const HoldRequest& request) {
        auto held = run_async(io, [&] { return reservations.hold(request); });
        EXPECT_TRUE(held.ok());
        return held.ok() ? *held : HoldResult{};
    }

    // Holds until the goodies look gone; returns the hold that still got the last goodie.
    HoldRequest hold_the_last_goodie() {
        const HoldRequest last = next_hold();
        EXPECT_TRUE(hold(last).goodie_held);
        EXPECT_FALSE(hold(next_hold()).goodie_held);  // Refused by the cluster.
        EXPECT_TRUE(reservations.goodies().looks_gone());
        return last;
    }

    asio::io_context io;
    Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
    StockCluster cluster;
    TransferExecutor executor;
    TransferBatcher batcher;
    Reservations reservations;
    u128 next_id = 1;
};

TEST(TbReservations, OnceAGoodieHoldIsRefusedHoldsCarryOnlyTheTicket) {
    Rig rig(100, 1);
    (void)rig.hold_the_last_goodie();
    EXPECT_EQ(rig.cluster.goodie_transfers, 2u);
    for (int i = 0; i < 10; i++) {
        const HoldResult held = rig.hold(rig.next_hold());
        EXPECT_TRUE(held.ticket_held);
        EXPECT_FALSE(held.goodie_held);
    }
    EXPECT_EQ(rig.cluster.goodie_transfers, 2u);  // Not one goodie transfer more.
    EXPECT_EQ(rig.cluster.left(Resource::class_a), 88u);
}

TEST(TbReservations, AGoodieHoldVoidedByTheLedgerIsOfferedToTheNextHold) {
    Rig rig(100, 1);
    const HoldRequest last = rig.hold_the_last_goodie();
    const Status voided = run_async(rig.io, [&] {
        return rig.reservations.cancel(last.cls, last.ticket_hold_id, last.goodie_hold_id);
    });
    ASSERT_TRUE(voided.ok());
    EXPECT_FALSE(rig.reservations.goodies().looks_gone());
    EXPECT_TRUE(rig.hold(rig.next_hold()).goodie_held);
}

TEST(TbReservations, ExpiredGoodiesAreFoundByOneHoldPerRetryInterval) {
    // The cluster gives an expired goodie back without telling: holds within the interval do not
    // ask; the first after it does, gets the goodie, and the holds after it ask again.
    Rig rig(100, 1);
    const HoldRequest last = rig.hold_the_last_goodie();
    rig.cluster.expire(last.goodie_hold_id);
    rig.now += retry_interval / 2;
    EXPECT_FALSE(rig.hold(rig.next_hold()).goodie_held);
    EXPECT_EQ(rig.cluster.goodie_transfers, 2u);
    rig.now += retry_interval / 2;
    EXPECT_TRUE(rig.hold(rig.next_hold()).goodie_held);
    EXPECT_EQ(rig.cluster.goodie_transfers, 3u);
    EXPECT_FALSE(rig.reservations.goodies().looks_gone());
    EXPECT_FALSE(rig.hold(rig.next_hold()).goodie_held);  // Asked, refused: gone again.
    EXPECT_EQ(rig.cluster.goodie_transfers, 4u);
}

TEST(TbReservations, WhileNoneCameBackARetryPerIntervalCostsOneRefusedTransfer) {
    Rig rig(1000, 1);
    (void)rig.hold_the_last_goodie();
    for (int second = 1; second <= 5; second++) {
        rig.now += retry_interval;
        for (int i = 0; i < 20; i++) EXPECT_FALSE(rig.hold(rig.next_hold()).goodie_held);
    }
    EXPECT_EQ(rig.cluster.goodie_transfers, 2u + 5u);
}

TEST(TbReservations, ConcurrentHoldsNeverGetMoreGoodiesThanTheStock) {
    // The first wave asks for goodies and the cluster refuses all but five; the second wave,
    // with the goodies known to be gone, sends only ticket holds.
    Rig rig(1000, 5);
    const auto wave = [&rig](std::size_t holds) {
        std::size_t goodies = 0;
        std::size_t finished = 0;
        for (std::size_t i = 0; i < holds; i++) {
            asio::co_spawn(
                rig.io,
                [&, request = rig.next_hold()]() -> asio::awaitable<void> {
                    auto held = co_await rig.reservations.hold(request);
                    goodies += held.ok() && held->goodie_held;
                    finished++;
                },
                asio::detached);
        }
        rig.io.restart();
        while (finished < holds && rig.io.run_one() > 0) {
        }
        return goodies;
    };
    EXPECT_EQ(wave(50), 5u);
    EXPECT_EQ(rig.cluster.goodie_transfers, 50u);
    EXPECT_EQ(wave(50), 0u);
    EXPECT_EQ(rig.cluster.goodie_transfers, 50u);
    EXPECT_EQ(rig.cluster.left(Resource::goodies), 0u);
}

TEST(TbReservations, ASoldOutTicketGivesItsGoodieBackAndGoodiesStayOnOffer) {
    Rig rig(0, 10);
    const HoldRequest request = rig.next_hold();
    const HoldResult held = rig.hold(request);
    EXPECT_FALSE(held.ticket_held);
    EXPECT_FALSE(held.goodie_held);
    EXPECT_EQ(rig.cluster.left(Resource::goodies), 10u);  // Voided at once.
    EXPECT_FALSE(rig.reservations.goodies().looks_gone());
}

TEST(TbReservations, APostThatFindsItsGoodieHoldExpiredOffersGoodiesAgain) {
    Rig rig(100, 1);
    const HoldRequest last = rig.hold_the_last_goodie();
    rig.cluster.expire(last.ticket_hold_id);
    rig.cluster.expire(last.goodie_hold_id);
    const CommitRequest commit{last.cls, last.ticket_hold_id, last.goodie_hold_id, true, 0};
    auto committed = run_async(rig.io, [&] { return rig.reservations.commit(commit); });
    ASSERT_TRUE(committed.ok());
    EXPECT_EQ(committed->goodie, Resolution::expired);
    EXPECT_FALSE(rig.reservations.goodies().looks_gone());
}

TEST(TbReservations, ARefusedLateGoodieAndAnEmptyInventoryMarkTheGoodiesGone) {
    Rig rig(100, 0);
    const HoldRequest late = rig.next_hold();
    const CommitRequest commit{late.cls, late.ticket_hold_id, late.goodie_hold_id, true, 0};
    auto booked = run_async(rig.io, [&] { return rig.reservations.book_late(commit); });
    ASSERT_TRUE(booked.ok());
    EXPECT_TRUE(booked->got_ticket);
    EXPECT_FALSE(booked->got_goodie);
    EXPECT_TRUE(rig.reservations.goodies().looks_gone());
    rig.reservations.note_goodie_balance(Balance{10, 3, 2});
    EXPECT_FALSE(rig.reservations.goodies().looks_gone());
    rig.reservations.note_goodie_balance(Balance{10, 7, 3});
    EXPECT_TRUE(rig.reservations.goodies().looks_gone());
}

TEST(GoodieOutlook, RetriesOncePerIntervalWhileGone) {
    GoodieOutlook outlook(retry_interval);
    const Clock::time_point start = Clock::time_point() + std::chrono::hours(1);
    EXPECT_TRUE(outlook.should_try(start));
    outlook.on_refused(start);
    EXPECT_FALSE(outlook.should_try(start));
    EXPECT_FALSE(outlook.should_try(start + retry_interval - std::chrono::milliseconds(1)));
    EXPECT_TRUE(outlook.should_try(start + retry_interval));
    EXPECT_FALSE(outlook.should_try(start + retry_interval));  // One retry per interval.
    // A late refusal while gone does not push the next retry further out.
    outlook.on_refused(start + retry_interval + std::chrono::milliseconds(500));
    EXPECT_TRUE(outlook.should_try(start + 2 * retry_interval));
    outlook.on_maybe_left();
    EXPECT_TRUE(outlook.should_try(start + 2 * retry_interval));
    EXPECT_FALSE(outlook.looks_gone());
}

}  // namespace
}  // namespace tigerfans::accounting::tb

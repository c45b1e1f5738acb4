// The seat checkout against in-memory doubles: a seat ledger beside the flow fixture's stores,
// every call going through the same CallPlan. What a checkout of seats leaves behind when a
// store fails, or when a call took effect but its answer was lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "flow_fakes.hpp"
#include "tigerfans/accounting/seat_ledger.hpp"
#include "tigerfans/seating/availability.hpp"
#include "tigerfans/seating/recent_holds.hpp"
#include "tigerfans/seating/seat_map.hpp"

namespace tigerfans::flows {
namespace {

using accounting::Resolution;
using seating::SeatId;

// Seats held or sold, each by one hold id; a void or post of another id finds nothing.
class FakeSeatLedger final : public accounting::SeatLedger {
public:
    FakeSeatLedger(testing_fakes::CallPlan& calls, std::uint32_t seat_count)
        : calls_(calls), seat_count_(seat_count) {}

    std::map<SeatId, u128> held;
    std::map<SeatId, u128> sold;
    int contended_refusals = 0;  // The next holds refused though free (a hold came and went).
    // Every hold made: its seat and the order it carries. A hold neither held nor sold now
    // reads as expired, as does a held one named in `reads_expired` (the reader's clock ahead
    // of the ledger's).
    std::map<u128, std::pair<SeatId, u128>> made;
    std::set<u128> reads_expired;

    asio::awaitable<Result<seating::SeatStates>> seat_states() override {
        if (auto fault = calls_.enter("seats.states")) co_return *fault;
        seating::SeatStates states(seat_count_);
        for (const auto& [seat, id] : held) states.set(seat, seating::SeatState::held);
        for (const auto& [seat, id] : sold) states.set(seat, seating::SeatState::sold);
        co_return calls_.leave(states);
    }
    asio::awaitable<Result<accounting::SeatHoldResult>> hold_seats(
        accounting::SeatHoldRequest request) override {
        if (auto fault = calls_.enter("seats.hold")) co_return *fault;
        accounting::SeatHoldResult result;
        if (contended_refusals > 0) {
            contended_refusals--;
            co_return calls_.leave(result);
        }
        for (SeatId seat : request.seats) {
            if (held.count(seat) || sold.count(seat)) result.gone.push_back(seat);
        }
        result.held = result.gone.empty();
        if (result.held) {
            for (std::size_t i = 0; i < request.seats.size(); i++) {
                held[request.seats[i]] = request.hold_ids[i];
                made[request.hold_ids[i]] = {request.seats[i], request.order_id};
            }
        }
        co_return calls_.leave(result);
    }
    asio::awaitable<Result<std::vector<Resolution>>> post_seats(
        accounting::SeatHolds holds) override {
        if (auto fault = calls_.enter("seats.post")) co_return *fault;
        co_return calls_.leave(resolve_all(holds, true));
    }
    asio::awaitable<Result<std::vector<Resolution>>> void_seats(
        accounting::SeatHolds holds) override {
        if (auto fault = calls_.enter("seats.void")) co_return *fault;
        co_return calls_.leave(resolve_all(holds, false));
    }
    asio::awaitable<Result<std::vector<accounting::SeatHoldEntry>>> hold_entries() override {
        if (auto fault = calls_.enter("seats.hold_entries")) co_return *fault;
        const std::vector<accounting::SeatHoldEntry> none;
        co_return calls_.leave(none);
    }
    asio::awaitable<Result<std::vector<accounting::SeatHoldEntry>>> hold_entries_of(
        u128 order_id) override {
        if (auto fault = calls_.enter("seats.hold_entries_of")) co_return *fault;
        std::vector<accounting::SeatHoldEntry> entries;
        for (const auto& [id, seat_and_order] : made) {
            const auto [seat, order] = seat_and_order;
            if (order != order_id) continue;
            accounting::SeatHoldEntry entry;
            entry.seat = seat;
            entry.hold_id = id;
            entry.order_id = order;
            entry.state = accounting::EntryState::expired;
            const auto holding = held.find(seat);
            const auto owner = sold.find(seat);
            if (holding != held.end() && holding->second == id && !reads_expired.count(id)) {
                entry.state = accounting::EntryState::pending;
            } else if (owner != sold.end() && owner->second == id) {
                entry.state = accounting::EntryState::posted;
            }
            entries.push_back(entry);
        }
        // In no particular order, as a ledger answers: here the last seat first.
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return a.seat > b.seat; });
        co_return calls_.leave(entries);
    }

private:
    std::vector<Resolution> resolve_all(const accounting::SeatHolds& holds, bool posting) {
        std::vector<Resolution> resolutions;
        for (std::size_t i = 0; i < holds.seats.size(); i++) {
            resolutions.push_back(resolve(holds.seats[i], holds.hold_ids[i], posting));
        }
        return resolutions;
    }
    Resolution resolve(SeatId seat, u128 id, bool posting) {
        const auto found = held.find(seat);
        if (found == held.end() || found->second != id) {
            const auto bought = sold.find(seat);
            return bought != sold.end() && bought->second == id ? Resolution::done
                                                                : Resolution::not_found;
        }
        held.erase(found);
        if (posting) sold[seat] = id;
        return Resolution::done;
    }

    testing_fakes::CallPlan& calls_;
    std::uint32_t seat_count_;
};

class SeatCheckoutFlowTest : public testing_fakes::FlowFixture {
protected:
    SeatCheckoutFlowTest()
        : venue(testing_fakes::small_venue()),
          seat_ledger(calls, venue.seat_count),
          map(
              io.get_executor(), venue, [this] { return seat_ledger.seat_states(); },
              [this] { return clock_us; }, seating::SeatMap::Settings{}),
          best(venue),
          seating{venue, seat_ledger, map, best, recent} {
        services.seating = &seating;
        config.tickets_per_email = 8;
    }

    ~SeatCheckoutFlowTest() override {
        testing::run_async(io, [&]() -> asio::awaitable<bool> {
            co_await map.stop(std::chrono::milliseconds(100));
            co_return true;
        });
    }

    CheckoutOutcome buy_seats(std::vector<SeatId> seats) {
        seat_fans_++;
        CheckoutRequest request;
        request.customer_email = "seat-fan" + std::to_string(seat_fans_) + "@example.com";
        request.seats = std::move(seats);
        return testing::run_async(io, [&] { return checkout(services, request); });
    }

    CheckoutOutcome buy_best(std::string category, std::uint32_t count) {
        seat_fans_++;
        CheckoutRequest request;
        request.customer_email = "seat-fan" + std::to_string(seat_fans_) + "@example.com";
        request.best_available = BestAvailableAsk{std::move(category), count};
        return testing::run_async(io, [&] { return checkout(services, request); });
    }

    std::size_t email_slots_counted() const {
        std::size_t counted = 0;
        for (const auto& [email, slots] : sessions.email_slots) counted += slots.size();
        return counted;
    }

    std::int64_t clock_us = 1'000'000;  // The map's clock, far from the wall clock's readings.
    seating::Venue venue;
    FakeSeatLedger seat_ledger;
    seating::SeatMap map;
    seating::BestAvailable best;
    seating::RecentHolds recent;
    Seating seating;
    int seat_fans_ = 0;
};

TEST_F(SeatCheckoutFlowTest, NamedSeatsAreHeldAndTheSessionCarriesThem) {
    const auto outcome = buy_seats({2, 3});
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(outcome));
    const auto& accepted = std::get<CheckoutAccepted>(outcome);
    EXPECT_EQ(accepted.amount_cents, 2 * 9'500);
    ASSERT_EQ(sessions.saved.count(accepted.payment_session_id), 1u);
    const sessions::PaymentSession& session = sessions.saved.at(accepted.payment_session_id);
    EXPECT_EQ(session.seats, (std::vector<SeatId>{2, 3}));
    EXPECT_EQ(seat_ledger.held.size(), 2u);
    EXPECT_EQ(seat_ledger.held.at(2), session.seat_hold_ids.at(0));
    EXPECT_EQ(seat_ledger.held.at(3), session.seat_hold_ids.at(1));
}

// Each call of a seat checkout in turn fails before taking effect, or takes effect and answers a
// fault (its reply lost): the checkout answers the fault, and no session, no seat hold and no
// email slot is left, so the seats are on sale again at once.
TEST_F(SeatCheckoutFlowTest, AFailingOrLostCallLeavesNoSessionNoSeatAndNoSlot) {
    const std::size_t first_count = calls.made();
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(buy_seats({0, 1})));
    const std::size_t count = calls.made() - first_count;
    ASSERT_GE(count, 3u) << calls.names_since(first_count);  // Slot, hold, session.
    for (const bool lost : {false, true}) {
        for (std::size_t n = 1; n <= count; n++) {
            SCOPED_TRACE(std::string(lost ? "the reply of call " : "call ") + std::to_string(n) +
                         " of " + std::to_string(count) + (lost ? " is lost" : " fails"));
            const std::size_t sessions_before = sessions.saved.size();
            const std::size_t slots_before = email_slots_counted();
            const std::size_t recent_before = recent.size();
            const std::map<SeatId, u128> held_before = seat_ledger.held;
            const std::size_t first = calls.made();
            if (lost) {
                calls.lose_reply_of_nth(n);
            } else {
                calls.fail_nth(n);
            }
            const auto outcome = buy_seats({4, 5});
            const bool fired = !calls.armed();
            calls.disarm();
            ASSERT_TRUE(fired) << calls.names_since(first);
            SCOPED_TRACE("the call: " + calls.last_failed());
            ASSERT_TRUE(std::holds_alternative<Fault>(outcome)) << calls.names_since(first);
            EXPECT_EQ(sessions.saved.size(), sessions_before) << calls.names_since(first);
            EXPECT_EQ(seat_ledger.held, held_before) << calls.names_since(first);
            EXPECT_EQ(email_slots_counted(), slots_before) << calls.names_since(first);
            EXPECT_EQ(recent.size(), recent_before) << calls.names_since(first);
        }
    }
    // The seats were given back every time: they sell.
    EXPECT_TRUE(std::holds_alternative<CheckoutAccepted>(buy_seats({4, 5})));
}

// Seat holds a stalled ledger answers long after the checkout began are given back, with the
// email's slot, whose time has run since the claim: the seats are on sale again at once.
TEST_F(SeatCheckoutFlowTest, SeatsHeldLateAreGivenBackWithTheSlot) {
    // The steady clock jumps past the limit once the holds were asked for (a plain function).
    static const testing_fakes::CallPlan* plan = nullptr;
    static std::size_t first = 0;
    plan = &calls;
    first = calls.made();
    services.steady_us = []() -> std::int64_t {
        const bool held = plan->names_since(first).find("seats.hold ") != std::string::npos;
        return held ? std::int64_t{limits::hold_answer_late_s} * 1'000'000 + 1 : 0;
    };
    const auto outcome = buy_seats({4, 5});
    ASSERT_TRUE(std::holds_alternative<Fault>(outcome)) << calls.names_since(first);
    EXPECT_EQ(std::get<Fault>(outcome), Fault::timeout);
    EXPECT_TRUE(seat_ledger.held.empty());
    EXPECT_TRUE(sessions.saved.empty());
    EXPECT_EQ(email_slots_counted(), 0u);
    EXPECT_EQ(recent.size(), 0u);
}

// The seats a checkout asks for are remembered on the map's clock, so a later snapshot that
// shows them lets them go; timed by another clock (the wall clock is years ahead of this one)
// they would stay marked held in every search.
TEST_F(SeatCheckoutFlowTest, SeatsAskedForAreTimedByTheMapsClock) {
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(buy_seats({0, 1})));
    EXPECT_EQ(recent.size(), 2u);
    seat_ledger.held.clear();  // The hold ends (voided or timed out).
    clock_us += 10'000'000;    // The map's first read comes well after the hold (past the grace).
    const auto snapshot = testing::run_async(io, [&] { return map.current(); });
    ASSERT_TRUE(snapshot.ok());
    EXPECT_EQ(snapshot.value()->read_at_us, clock_us);
    seating::SeatStates states = snapshot.value()->states;
    recent.apply(states, snapshot.value()->read_at_us);
    EXPECT_EQ(recent.size(), 0u);
    EXPECT_EQ(states.get(0), seating::SeatState::free);
    EXPECT_EQ(states.get(1), seating::SeatState::free);
}

// A fan's named seats are refused because one of them is taken: the others were never held,
// so a best-available search at once (the same snapshot, within the grace of recent holds)
// finds them free; only the seat the ledger saw taken still counts as recently held. Were the
// refused seats kept, the search would answer "sold out" beside seven free seats.
TEST_F(SeatCheckoutFlowTest, SeatsOfARefusedHoldAreFreeToTheNextSearchAtOnce) {
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(buy_seats({7})));
    const auto refused = buy_seats({0, 1, 2, 3, 4, 5, 6, 7});
    ASSERT_TRUE(std::holds_alternative<SeatsGone>(refused));
    EXPECT_EQ(std::get<SeatsGone>(refused).gone, (std::vector<SeatId>{7}));
    EXPECT_EQ(recent.size(), 2u);  // Seat 7 by the first fan's hold and as seen taken.

    const auto found = buy_best("front", 7);
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(found));
    EXPECT_EQ(std::get<CheckoutAccepted>(found).seats, (std::vector<SeatId>{0, 1, 2, 3, 4, 5, 6}));
}

// A group larger than every row of its category could never sit together: 400 naming the
// longest row, not a "sold out" that a key would keep and that no expiry would lift.
TEST_F(SeatCheckoutFlowTest, ACountLongerThanEveryRowOfItsCategoryIsInvalid) {
    venue.rows[1].seat_count = 4;  // The back row: four seats, the other four in no row.
    const std::size_t first = calls.made();
    const auto refused = buy_best("back", 5);
    ASSERT_TRUE(std::holds_alternative<InvalidInput>(refused));
    EXPECT_EQ(std::get<InvalidInput>(refused).detail,
              "best_available.count: no row of category back has 5 seats (the longest has 4)");
    EXPECT_EQ(calls.made(), first);  // Nothing asked of any store.
    const auto found = buy_best("back", 4);
    ASSERT_TRUE(std::holds_alternative<CheckoutAccepted>(found));
    EXPECT_EQ(std::get<CheckoutAccepted>(found).seats, (std::vector<SeatId>{8, 9, 10, 11}));
}

// The only run of the category is refused though free (someone's hold came and went): the
// answer asks for a retry, never "sold out", which a key would keep for a day.
TEST_F(SeatCheckoutFlowTest, ARunRefusedThoughFreeIsContendedNotSoldOut) {
    seat_ledger.contended_refusals = 1;
    const auto refused = buy_best("front", 8);
    EXPECT_TRUE(std::holds_alternative<SeatsContended>(refused));
    EXPECT_TRUE(seat_ledger.held.empty());
    EXPECT_TRUE(std::holds_alternative<CheckoutAccepted>(buy_best("front", 8)));
}

// A seat order whose session the store lost: the payment finds the order's seat holds in the
// seat ledger and posts them (one the reading calls expired too: the ledger decides), and the
// order is paid with its seats, once over two deliveries. When one of its holds is gone
// (expired), the seats still held are sold to the order all the same, and it is owed back.
TEST_F(SeatCheckoutFlowTest, APaymentWhoseSessionWasLostSellsTheOrdersSeats) {
    const auto whole = std::get<CheckoutAccepted>(buy_seats({2, 3}));
    const auto part = std::get<CheckoutAccepted>(buy_seats({5, 6}));
    const auto said = [](const CheckoutAccepted& accepted) {
        return EventOrder{accepted.order_id,     TicketClass::a,         accepted.amount_cents,
                          std::string(currency), "seat-fan@example.com", 1'700'000'000};
    };
    sessions.saved.clear();
    seat_ledger.reads_expired.insert(seat_ledger.held.at(3));
    seat_ledger.held.erase(6);  // Its hold timed out.
    calls.fail_next("seats.post");
    EXPECT_TRUE(std::holds_alternative<Fault>(
        pay(whole.payment_session_id, PaymentOutcome::succeeded, "evt_1", said(whole))));
    EXPECT_TRUE(orders.rows.empty());
    for (int delivery = 0; delivery < 2; delivery++) {
        const auto outcome =
            pay(whole.payment_session_id, PaymentOutcome::succeeded, "evt_1", said(whole));
        ASSERT_TRUE(std::holds_alternative<WebhookSettled>(outcome));
        EXPECT_EQ(std::get<WebhookSettled>(outcome).status, orders::OrderStatus::paid);
    }
    const orders::Order& paid = orders.rows.at(whole.order_id);
    EXPECT_EQ(paid.status, orders::OrderStatus::paid);
    EXPECT_EQ(paid.seats, (std::vector<SeatId>{2, 3}));
    EXPECT_EQ(paid.amount_cents, whole.amount_cents);
    EXPECT_EQ(paid.ticket_transfer_id, seat_ledger.sold.at(2));  // The first seat's hold.
    EXPECT_TRUE(paid.ticket_code.starts_with("TCK-"));
    EXPECT_EQ(seat_ledger.sold.count(2) + seat_ledger.sold.count(3), 2u);

    const auto owed = pay(part.payment_session_id, PaymentOutcome::succeeded, "evt_2", said(part));
    ASSERT_TRUE(std::holds_alternative<WebhookSettled>(owed));
    EXPECT_EQ(std::get<WebhookSettled>(owed).status, orders::OrderStatus::paid_unfulfilled);
    const orders::Order& refunded = orders.rows.at(part.order_id);
    EXPECT_EQ(refunded.seats, (std::vector<SeatId>{5, 6}));
    EXPECT_TRUE(refunded.ticket_code.empty());
    EXPECT_EQ(seat_ledger.sold.count(5), 1u);
    EXPECT_TRUE(seat_ledger.held.empty());
}

}  // namespace
}  // namespace tigerfans::flows

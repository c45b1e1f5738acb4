// The seat checkout.
#include "flows/seat_checkout.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "flows/checkout_undo.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::flows {

using accounting::SeatHoldRequest;
using seating::SeatId;

namespace {
SeatHoldRequest seat_hold_request(Services& services, std::vector<SeatId> seats, u128 order_id) {
    SeatHoldRequest request;
    request.seats = std::move(seats);
    for (std::size_t i = 0; i < request.seats.size(); i++) {
        request.hold_ids.push_back(services.ids.next());
    }
    request.timeout_s = services.config.reservation_ttl_s;
    request.order_id = order_id;
    TF_ASSERT(accounting::valid_seat_hold(request, services.seating->venue.seat_count));
    return request;
}

// Gives the seats of a hold back: the ledger's hold is voided, and searches see them free.
asio::awaitable<void> release_seats(Services& services, const SeatHoldRequest& hold) {
    services.seating->recent.forget(hold.hold_ids);
    auto operation = services.seating->ledger.void_seats({hold.seats, hold.hold_ids});
    auto voided = co_await timed(services.timings.accounting_cancel, std::move(operation));
    if (!voided) {
        spdlog::warn("checkout: could not free seats after a failure ({}); their holds expire",
                     fault_name(voided.fault()));
    }
}

// Holds the seats of `hold`: nullopt when they are held, else the answer. The seats count as
// recently held from the ask on, so that searches meanwhile pass them by; when nothing is held,
// all but those the ledger saw taken are taken back at once.
asio::awaitable<std::optional<CheckoutOutcome>> try_hold(Services& services,
                                                         const SeatHoldRequest& hold) {
    seating::RecentHolds& recent = services.seating->recent;
    recent.add(hold.seats, hold.hold_ids, services.seating->map.now_us());
    // Called in a statement of its own, here and below: a parameter that owns memory, built
    // inside a co_await expression, is destroyed twice by GCC 12.
    auto operation = services.seating->ledger.hold_seats(hold);
    auto held = co_await timed(services.timings.accounting_hold, std::move(operation));
    if (!held) {
        // The hold may have landed though its answer was lost; a void finding none voids
        // nothing.
        co_await release_seats(services, hold);
        co_return held.fault();
    }
    if (held->held) co_return std::nullopt;
    std::vector<u128> free_again;  // The holds of the seats not seen taken.
    for (std::size_t i = 0; i < hold.seats.size(); i++) {
        const SeatId seat = hold.seats[i];
        if (std::find(held->gone.begin(), held->gone.end(), seat) == held->gone.end()) {
            free_again.push_back(hold.hold_ids[i]);
        }
    }
    recent.forget(free_again);
    // Refused, but free again by the time the ledger looked: someone's hold came and went.
    if (held->gone.empty()) co_return SeatsContended{};
    co_return SeatsGone{std::move(held->gone)};
}

// The best `ask.count` seats together, from the map's snapshot with this process's recent holds
// marked in it. Seats the ledger refuses were taken since: the search looks past them, a few
// times at most, and then asks the fan to come back (the seats are contended, not sold out).
asio::awaitable<std::optional<CheckoutOutcome>> hold_best(Services& services,
                                                          const BestAvailableAsk& ask,
                                                          u128 order_id, SeatHoldRequest& hold) {
    const Seating& seating = *services.seating;
    const std::uint32_t category = seating.venue.category_index(ask.category);
    TF_ASSERT_LT(category, seating.venue.categories.size());  // check_seat_request saw to it.
    auto snapshot = co_await seating.map.current();
    if (!snapshot) co_return snapshot.fault();
    seating::SeatStates states = (*snapshot)->states;
    seating.recent.apply(states, (*snapshot)->read_at_us);
    bool contended = false;  // A run was refused though free: the category is not sold out.
    for (int attempt = 0; attempt < best_available_attempts_max; attempt++) {
        std::optional<std::vector<SeatId>> found = seating.best.find(states, category, ask.count);
        if (!found && contended) co_return SeatsContended{};
        if (!found) co_return SoldOut{true};
        hold = seat_hold_request(services, std::move(*found), order_id);
        std::optional<CheckoutOutcome> refused = co_await try_hold(services, hold);
        if (!refused) co_return refused;
        auto* gone = std::get_if<SeatsGone>(&*refused);
        if (gone == nullptr && !std::holds_alternative<SeatsContended>(*refused)) {
            co_return refused;
        }
        // The ledger names the seats it saw taken; when it names none, the whole run is skipped,
        // so the search moves on either way.
        contended = contended || gone == nullptr;
        for (SeatId seat : gone != nullptr ? gone->gone : hold.seats) {
            states.set(seat, seating::SeatState::held);
        }
    }
    co_return SeatsContended{};
}

// The seats named, or the best ones: nullopt when `hold` holds them, else the answer.
asio::awaitable<std::optional<CheckoutOutcome>> hold_requested(Services& services,
                                                               const CheckoutRequest& request,
                                                               u128 order_id,
                                                               SeatHoldRequest& hold) {
    if (request.best_available) {
        co_return co_await hold_best(services, *request.best_available, order_id, hold);
    }
    hold = seat_hold_request(services, request.seats, order_id);
    co_return co_await try_hold(services, hold);
}

sessions::PaymentSession seat_session(const CheckoutRequest& request, const SeatHoldRequest& hold,
                                      std::int64_t amount_cents) {
    sessions::PaymentSession session;
    session.psid = new_payment_session_id();
    session.order_id = order_id_from(hold.order_id);
    session.customer_email = request.customer_email;
    session.ticket_hold_id = hold.hold_ids.front();
    session.amount_cents = amount_cents;
    session.currency = std::string(currency);
    session.created_at_us = unix_now_us();
    session.seats = hold.seats;
    session.seat_hold_ids = hold.hold_ids;
    TF_ASSERT(orders::is_valid_order_id(session.order_id));
    return session;
}

}  // namespace

std::optional<InvalidInput> check_seat_request(const Services& services,
                                               const CheckoutRequest& request) {
    TF_ASSERT(request.wants_seats());
    if (services.seating == nullptr) {
        return InvalidInput{"this sale sells no reserved seats: buy a ticket class (cls)"};
    }
    const seating::Venue& venue = services.seating->venue;
    for (SeatId seat : request.seats) {
        if (seat >= venue.seat_count) {
            return InvalidInput{"seat " + std::to_string(seat) + " is not in the venue (ids 0 to " +
                                std::to_string(venue.seat_count - 1) + ")"};
        }
    }
    if (!request.best_available) return std::nullopt;
    const std::uint32_t category = venue.category_index(request.best_available->category);
    if (category == venue.categories.size()) {
        return InvalidInput{"best_available.category names no category of this venue"};
    }
    // Seats together in one row: a count longer than every row of the category never fits.
    const std::uint32_t longest = services.seating->best.longest_row(category);
    if (request.best_available->count > longest) {
        return InvalidInput{"best_available.count: no row of category " +
                            request.best_available->category + " has " +
                            std::to_string(request.best_available->count) +
                            " seats (the longest has " + std::to_string(longest) + ")"};
    }
    return std::nullopt;
}

asio::awaitable<CheckoutOutcome> hold_seats_and_save(Services& services,
                                                     const CheckoutRequest& request, u128 order_id,
                                                     std::int64_t began_us) {
    TF_ASSERT(services.seating != nullptr);
    SeatHoldRequest hold;
    std::optional<CheckoutOutcome> refused =
        co_await hold_requested(services, request, order_id, hold);
    if (refused) co_return *std::move(refused);
    if (holds_answered_late(services, began_us)) {
        co_await release_seats(services, hold);
        co_return Fault::timeout;
    }

    const std::int64_t amount = services.seating->venue.price_cents(hold.seats);
    const sessions::PaymentSession session = seat_session(request, hold, amount);
    const std::uint32_t session_ttl_s =
        services.config.reservation_ttl_s + limits::session_ttl_margin_s;
    TF_ASSERT_GT(session_ttl_s, hold.timeout_s);  // A late payment still finds its session.
    Status saved = co_await timed(services.timings.session_save,
                                  services.sessions.save(session, session_ttl_s));
    if (!saved) {
        co_await forget_session(services, session.psid);
        co_await release_seats(services, hold);
        co_return saved.fault();
    }
    co_return CheckoutAccepted{session.order_id, session.psid, amount, hold.seats};
}

}  // namespace tigerfans::flows

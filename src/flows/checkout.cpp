// The checkout flow.
#include "tigerfans/flows/checkout.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/this_coro.hpp>
#include <utility>

#include "flows/checkout_undo.hpp"
#include "flows/seat_checkout.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/async.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/flows/email_limit.hpp"

namespace tigerfans::flows {

namespace {
// Voids the holds of a checkout that is not accepted. After a hold that answered a fault, both
// are voided: the hold may have landed though its answer was lost, and a void finding no hold
// voids nothing.
asio::awaitable<void> release_holds(Services& services, const accounting::HoldRequest& hold,
                                    bool goodie_held) {
    TF_ASSERT(hold.ticket_hold_id != 0);
    const u128 goodie = goodie_held ? hold.goodie_hold_id : 0;
    Status voided = co_await timed(services.timings.accounting_cancel,
                                   services.ledger.cancel(hold.cls, hold.ticket_hold_id, goodie));
    if (!voided) {
        // The holds still expire by themselves after the reservation TTL.
        spdlog::warn("checkout: could not void holds after a failure ({}); they will expire",
                     fault_name(voided.fault()));
    }
}

sessions::PaymentSession session_for(const CheckoutRequest& request,
                                     const accounting::HoldRequest& hold, bool goodie_held) {
    sessions::PaymentSession session;
    session.psid = new_payment_session_id();
    session.order_id = order_id_from(hold.order_id);
    session.cls = request.cls;
    session.customer_email = request.customer_email;
    session.ticket_hold_id = hold.ticket_hold_id;
    session.goodie_hold_id = hold.goodie_hold_id;
    session.goodie_held = goodie_held;
    session.amount_cents = price_cents(request.cls) * ticket_quantity;
    session.currency = std::string(currency);
    session.created_at_us = unix_now_us();
    TF_ASSERT(orders::is_valid_order_id(session.order_id));
    return session;
}

std::uint32_t session_ttl_s(const Services& services, const accounting::HoldRequest& hold) {
    const std::uint32_t ttl_s = services.config.reservation_ttl_s + limits::session_ttl_margin_s;
    // The session outlives its holds, so a payment arriving after they expired still finds it.
    TF_ASSERT_GT(ttl_s, hold.timeout_s);
    return ttl_s;
}

CheckoutAccepted accepted(const sessions::PaymentSession& session) {
    TF_ASSERT_EQ(session.amount_cents, price_cents(session.cls) * ticket_quantity);
    return CheckoutAccepted{session.order_id, session.psid, session.amount_cents};
}

using SavedSession = std::pair<Status, sessions::PaymentSession>;

// Writes `session`, which the call owns (a forked call may outlive its caller's frame), and
// hands it back.
asio::awaitable<SavedSession> save_owned(Services& services, sessions::PaymentSession session,
                                         std::uint32_t ttl_s) {
    Status saved =
        co_await timed(services.timings.session_save, services.sessions.save(session, ttl_s));
    co_return SavedSession{saved, std::move(session)};
}

// A checkout whose session could not be saved: what may stand of the session goes, then its
// holds are voided.
asio::awaitable<void> give_back(Services& services, const accounting::HoldRequest& hold,
                                const std::string& psid, bool goodie_held) {
    co_await forget_session(services, psid);
    co_await release_holds(services, hold, goodie_held);
}

// The hold first, then the session: for a class whose last hold found nothing left, so that a
// sold-out answer writes nothing.
asio::awaitable<CheckoutOutcome> hold_then_save(Services& services, const CheckoutRequest& request,
                                                const accounting::HoldRequest& hold,
                                                std::int64_t began_us) {
    auto held = co_await timed(services.timings.accounting_hold, services.ledger.hold(hold));
    if (!held) {
        co_await release_holds(services, hold, true);
        co_return held.fault();
    }
    // The ledger holds a goodie only beside a ticket; a sold-out answer leaves nothing held.
    TF_ASSERT(held->ticket_held || !held->goodie_held);
    services.outlook.note(request.cls, *held);
    if (!held->ticket_held) co_return SoldOut{};
    if (holds_answered_late(services, began_us)) {
        co_await release_holds(services, hold, held->goodie_held);
        co_return Fault::timeout;
    }

    const sessions::PaymentSession session = session_for(request, hold, held->goodie_held);
    Status saved = co_await timed(services.timings.session_save,
                                  services.sessions.save(session, session_ttl_s(services, hold)));
    if (!saved) {
        co_await give_back(services, hold, session.psid, held->goodie_held);
        co_return saved.fault();
    }
    co_return accepted(session);
}

// The hold and the session's write at once, the session naming the goodie the latest hold
// found: the answer waits for the slower of the two rather than both in turn. The session is
// right before the answer names it: its goodie corrected when guessed wrong (only while it
// exists, so a session an operator's payment dropped meanwhile stays gone); removed whenever
// the checkout is not accepted, since a write that failed may still have landed. A hold
// answered late gives both back (holds_answered_late).
asio::awaitable<CheckoutOutcome> hold_while_saving(Services& services,
                                                   const CheckoutRequest& request,
                                                   const accounting::HoldRequest& hold,
                                                   std::int64_t began_us) {
    const std::uint32_t ttl_s = session_ttl_s(services, hold);
    auto save_operation =
        save_owned(services, session_for(request, hold, services.outlook.goodie_expected()), ttl_s);
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    Forked<SavedSession> save(executor, std::move(save_operation));
    auto held = co_await timed(services.timings.accounting_hold, services.ledger.hold(hold));
    SavedSession written = co_await save.join();
    Status saved = written.first;
    sessions::PaymentSession& session = written.second;
    if (held) {
        TF_ASSERT(held->ticket_held || !held->goodie_held);
        services.outlook.note(request.cls, *held);
    }
    if (!held || !held->ticket_held) {
        co_await forget_session(services, session.psid);
        if (held) co_return SoldOut{};
        co_await release_holds(services, hold, true);
        co_return held.fault();
    }
    if (holds_answered_late(services, began_us)) {
        co_await give_back(services, hold, session.psid, held->goodie_held);
        co_return Fault::timeout;
    }
    if (saved && held->goodie_held != session.goodie_held) {
        session.goodie_held = held->goodie_held;
        saved = co_await timed(services.timings.session_save,
                               services.sessions.correct_goodie(session.psid, session.goodie_held));
    }
    if (!saved) {
        co_await give_back(services, hold, session.psid, held->goodie_held);
        co_return saved.fault();
    }
    co_return accepted(session);
}

asio::awaitable<CheckoutOutcome> hold_and_save(Services& services, const CheckoutRequest& request,
                                               const accounting::HoldRequest& hold,
                                               std::int64_t began_us) {
    // (One co_await per branch: GCC 12 mishandles a conditional between two awaitables.)
    if (services.outlook.ticket_expected(request.cls)) {
        co_return co_await hold_while_saving(services, request, hold, began_us);
    }
    co_return co_await hold_then_save(services, request, hold, began_us);
}
}  // namespace

asio::awaitable<CheckoutOutcome> checkout(Services& services, CheckoutRequest request) {
    if (request.wants_seats()) {
        if (auto invalid = check_seat_request(services, request)) co_return *std::move(invalid);
    }
    // The order's id exists before its holds: they carry it, so the ledger can name the order
    // of every ticket it sold.
    const u128 order = new_order_id();
    TF_ASSERT(order != 0);
    // The email's slot comes before the hold, so two checkouts at the limit cannot both hold.
    // Should the process die between the two, the slot stops counting when its time is up.
    const std::string order_id = order_id_from(order);
    const std::int64_t began_us = services.steady_us();
    auto claimed = co_await claim_email_slot(services, request.customer_email, order_id);
    if (!claimed) {
        // A claim whose answer was lost may have counted.
        co_await free_email_slot(services, request.customer_email, order_id, began_us);
        co_return claimed.fault();
    }
    if (!*claimed) co_return EmailLimitReached{services.config.tickets_per_email};
    CheckoutOutcome outcome = SoldOut{};
    if (request.wants_seats()) {
        outcome = co_await hold_seats_and_save(services, request, order, began_us);
    } else {
        const accounting::HoldRequest hold{request.cls, services.ids.next(), services.ids.next(),
                                           services.config.reservation_ttl_s, order};
        TF_ASSERT_LT(hold.ticket_hold_id, hold.goodie_hold_id);  // Two fresh, distinct ids.
        outcome = co_await hold_and_save(services, request, hold, began_us);
    }
    if (!std::holds_alternative<CheckoutAccepted>(outcome)) {
        co_await free_email_slot(services, request.customer_email, order_id, began_us);
        co_return outcome;
    }
    services.timings.checkouts.add();
    co_return outcome;
}

}  // namespace tigerfans::flows

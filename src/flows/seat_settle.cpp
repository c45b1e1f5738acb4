// Settling seat orders.
#include "flows/seat_settle.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/ids.hpp"

namespace tigerfans::flows {

using accounting::Resolution;

bool seat_holds_are_sound(const Seating& seating, const std::vector<seating::SeatId>& seats,
                          const std::vector<u128>& hold_ids) {
    accounting::SeatHoldRequest shape;
    shape.seats = seats;
    shape.hold_ids = hold_ids;
    shape.timeout_s = 1;  // Only the seats and ids are checked; a hold of checkout's expires.
    return accounting::valid_seat_hold(shape, seating.venue.seat_count);
}

namespace {
// Every seat's hold posted: the order is paid and ticketed. Otherwise the payment is a refund
// case: holds that timed out gave their seats back to the sale (a payment after its hold expired
// is not booked again, unlike a class ticket: the seats it named may be anyone's by now), and
// holds voided by a failure or cancel of this session gave them back on purpose. Seats posted
// before another failed stay sold to the order; the log names them for the refund.
asio::awaitable<Result<orders::Order>> settle_paid(Services& services,
                                                   const sessions::PaymentSession& session,
                                                   orders::Order order) {
    auto post = services.seating->ledger.post_seats({session.seats, session.seat_hold_ids});
    auto posted = co_await timed(services.timings.accounting_commit, std::move(post));
    if (!posted) co_return posted.fault();
    TF_ASSERT_EQ(posted->size(), session.seats.size());
    const auto done = std::count(posted->begin(), posted->end(), Resolution::done);
    const bool whole = static_cast<std::size_t>(done) == posted->size();
    if (!whole && done > 0) {
        std::string sold;
        for (std::size_t i = 0; i < posted->size(); i++) {
            if ((*posted)[i] != Resolution::done) continue;
            if (!sold.empty()) sold += ", ";
            sold += std::to_string(session.seats[i]);
        }
        spdlog::warn(
            "webhook: order {} paid, but only seats {} of its {} could be sold; "
            "PAID_UNFULFILLED, and those seats stay sold to it",
            session.order_id, sold, session.seats.size());
    }
    order.status = whole ? orders::OrderStatus::paid : orders::OrderStatus::paid_unfulfilled;
    order.paid_at_us = unix_now_us();
    if (whole) order.ticket_code = new_ticket_code();
    co_return order;
}
}  // namespace

asio::awaitable<Result<orders::Order>> settle_seats(Services& services,
                                                    const sessions::PaymentSession& session,
                                                    PaymentOutcome outcome, orders::Order order) {
    TF_ASSERT(!session.seats.empty());
    if (services.seating == nullptr) {
        // The process was restarted without the venue its sessions were sold from: the
        // provider retries until an operator brings it back.
        spdlog::error("webhook: order {} has seats, but this server has no VENUE",
                      session.order_id);
        co_return Fault::unavailable;
    }
    const bool paid = outcome == PaymentOutcome::succeeded;
    if (!seat_holds_are_sound(*services.seating, session.seats, session.seat_hold_ids)) {
        spdlog::error(
            "webhook: order {} names seats or holds this venue does not have; "
            "recorded without touching the ledger",
            session.order_id);
        order.status = paid ? orders::OrderStatus::paid_unfulfilled
                            : (outcome == PaymentOutcome::failed ? orders::OrderStatus::failed
                                                                 : orders::OrderStatus::canceled);
        if (paid) order.paid_at_us = unix_now_us();
        co_return order;
    }
    if (paid) co_return co_await settle_paid(services, session, std::move(order));
    auto void_all = services.seating->ledger.void_seats({session.seats, session.seat_hold_ids});
    auto voided = co_await timed(services.timings.accounting_cancel, std::move(void_all));
    if (!voided) co_return voided.fault();
    order.status = outcome == PaymentOutcome::failed ? orders::OrderStatus::failed
                                                     : orders::OrderStatus::canceled;
    co_return order;
}

}  // namespace tigerfans::flows

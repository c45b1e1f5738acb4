// The webhook flow.
#include "tigerfans/flows/webhook.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <nlohmann/json.hpp>

#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/core/ids.hpp"

namespace tigerfans::flows {

namespace {
constexpr std::size_t psid_bytes_max = 128;
constexpr std::size_t event_key_bytes_max = 128;
}  // namespace

std::string_view outcome_name(PaymentOutcome outcome) {
    switch (outcome) {
        case PaymentOutcome::succeeded: return "succeeded";
        case PaymentOutcome::failed: return "failed";
        case PaymentOutcome::canceled: return "canceled";
    }
    return "unknown";
}

std::optional<PaymentOutcome> parse_outcome(std::string_view name) {
    for (PaymentOutcome outcome :
         {PaymentOutcome::succeeded, PaymentOutcome::failed, PaymentOutcome::canceled}) {
        if (outcome_name(outcome) == name) return outcome;
    }
    return std::nullopt;
}

std::variant<WebhookEvent, WebhookRejected> verify_webhook(std::string_view secret,
                                                           std::string_view body,
                                                           std::string_view signature) {
    const std::string expected = base64_encode(hmac_sha256(secret, body));
    if (signature.empty() || !constant_time_equal(expected, signature)) {
        return WebhookRejected{400, "invalid_signature", "x-mockpay-signature does not match"};
    }
    const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return WebhookRejected{400, "invalid_json", "the event must be a JSON object"};
    }
    const std::string type = json.value("type", "");
    const std::optional<PaymentOutcome> outcome =
        type.starts_with("payment.") ? parse_outcome(std::string_view(type).substr(8))
                                     : std::nullopt;
    if (!outcome) {
        return WebhookRejected{400, "invalid_event",
                               "type must be payment.succeeded, payment.failed or payment.canceled"};
    }
    WebhookEvent event{*outcome, json.value("payment_session_id", ""), ""};
    if (const auto key = json.find("idempotency_key"); key != json.end() && key->is_string()) {
        event.idempotency_key = key->get<std::string>();
    }
    if (event.payment_session_id.empty() || event.payment_session_id.size() > psid_bytes_max ||
        event.idempotency_key.size() > event_key_bytes_max) {
        return WebhookRejected{400, "invalid_event", "missing or oversized payment_session_id"};
    }
    return event;
}

namespace {
orders::Order order_from(const sessions::PaymentSession& session) {
    orders::Order order;
    order.id = session.order_id;
    order.ticket_transfer_id = session.ticket_hold_id;
    order.goodie_transfer_id = session.goodie_hold_id;
    order.try_goodie = session.goodie_held;
    order.cls = session.cls;
    order.qty = ticket_quantity;
    order.amount_cents = session.amount_cents;
    order.currency = session.currency;
    order.customer_email = session.customer_email;
    order.created_at_us = session.created_at_us;
    return order;
}

accounting::CommitRequest commit_request(const sessions::PaymentSession& session) {
    return {session.cls, session.ticket_hold_id, session.goodie_hold_id, session.goodie_held};
}

// Posts the holds; when the ticket hold is gone (expired), books at once if anything is left.
asio::awaitable<Result<orders::Order>> settle_success(Services& services,
                                                      const sessions::PaymentSession& session) {
    orders::Order order = order_from(session);
    auto committed = co_await timed(services.timings.accounting_commit,
                                    services.ledger.commit(commit_request(session)));
    if (!committed) co_return committed.fault();
    bool got_ticket = committed->ticket == accounting::Resolution::done;
    order.got_goodie = session.goodie_held && committed->goodie == accounting::Resolution::done;
    if (!got_ticket) {
        accounting::CommitRequest late = commit_request(session);
        late.goodie_held = !order.got_goodie;  // Ask for a goodie only if none was posted.
        auto booked = co_await timed(services.timings.accounting_book_late,
                                     services.ledger.book_late(late));
        if (!booked) co_return booked.fault();
        got_ticket = booked->got_ticket;
        if (got_ticket) {
            order.ticket_transfer_id = derive_id(session.ticket_hold_id, Derivation::late_booking);
        }
        if (booked->got_goodie && !order.got_goodie) {
            order.got_goodie = true;
            order.goodie_transfer_id = derive_id(session.goodie_hold_id, Derivation::late_booking);
        }
    }
    order.status = got_ticket ? orders::OrderStatus::paid : orders::OrderStatus::paid_unfulfilled;
    order.paid_at_us = unix_now_us();
    if (got_ticket) order.ticket_code = new_ticket_code();
    co_return order;
}

asio::awaitable<Result<orders::Order>> settle_failure(Services& services,
                                                      const sessions::PaymentSession& session,
                                                      PaymentOutcome outcome) {
    const u128 goodie = session.goodie_held ? session.goodie_hold_id : 0;
    Status voided = co_await timed(
        services.timings.accounting_cancel,
        services.ledger.cancel(session.cls, session.ticket_hold_id, goodie));
    if (!voided) co_return voided.fault();
    orders::Order order = order_from(session);
    order.status = outcome == PaymentOutcome::failed ? orders::OrderStatus::failed
                                                     : orders::OrderStatus::canceled;
    co_return order;
}

asio::awaitable<Result<orders::Order>> settle(Services& services,
                                              const sessions::PaymentSession& session,
                                              PaymentOutcome outcome) {
    if (outcome == PaymentOutcome::succeeded) co_return co_await settle_success(services, session);
    co_return co_await settle_failure(services, session, outcome);
}

// Settles and records the order; the gate is already closed for this event.
asio::awaitable<Result<orders::OrderStatus>> fulfil(Services& services,
                                                    const sessions::PaymentSession& session,
                                                    PaymentOutcome outcome) {
    auto order = co_await settle(services, session, outcome);
    if (!order) co_return order.fault();
    const orders::OrderStatus status = order->status;
    Status stored = co_await timed(services.timings.order_insert,
                                   services.orders.insert(std::move(*order)));
    if (!stored) co_return stored.fault();
    co_return status;
}

asio::awaitable<void> reopen_gate(Services& services, const WebhookEvent& event) {
    Status reopened = co_await services.sessions.reopen_gate(event.payment_session_id,
                                                             event.idempotency_key);
    if (!reopened) {
        spdlog::error("webhook: could not reopen the gate of {} ({})", event.payment_session_id,
                      fault_name(reopened.fault()));
    }
}
}  // namespace

asio::awaitable<WebhookOutcome> handle_webhook(Services& services, WebhookEvent event) {
    // The gate and the session lookup are independent, so both leave at once (Redis takes them
    // in one round trip). The gate's answer is judged first: a replay arriving after the
    // session was dropped still answers "idempotent" instead of 404.
    using namespace boost::asio::experimental::awaitable_operators;
    const std::string& psid = event.payment_session_id;
    auto gate_operation = timed(services.timings.session_gate,
                                services.sessions.pass_gate(psid, event.idempotency_key));
    auto find_operation = timed(services.timings.session_find, services.sessions.find(psid));
    auto both = std::move(gate_operation) && std::move(find_operation);
    auto [gate, found] = co_await std::move(both);
    if (!gate) co_return gate.fault();
    if (*gate == sessions::Gate::replay) co_return WebhookSettled{true, orders::OrderStatus::paid};

    if (!found || !found->has_value()) {
        co_await reopen_gate(services, event);
        if (!found) co_return found.fault();
        co_return SessionUnknown{};
    }
    const sessions::PaymentSession& session = **found;
    auto status = co_await fulfil(services, session, event.outcome);
    if (!status) {
        co_await reopen_gate(services, event);
        co_return status.fault();
    }
    Status removed = co_await timed(services.timings.session_remove,
                                    services.sessions.remove(psid));
    if (!removed) spdlog::warn("webhook: session {} not removed; its TTL will", psid);
    co_return WebhookSettled{false, *status};
}

}  // namespace tigerfans::flows

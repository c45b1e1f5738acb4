// The checkout flow.
#include "tigerfans/flows/checkout.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::flows {

namespace {
const nlohmann::json* string_field(const nlohmann::json& object, const char* name) {
    const auto found = object.find(name);
    if (found == object.end() || !found->is_string()) return nullptr;
    return &*found;
}

std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}
}  // namespace

bool is_valid_email(std::string_view email) {
    if (email.empty() || email.size() > email_bytes_max) return false;
    const std::size_t at = email.find('@');
    if (at == 0 || at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
        return false;
    }
    for (unsigned char c : email) {
        if (c <= ' ' || c == 0x7F) return false;
    }
    const std::string_view domain = email.substr(at + 1);
    const std::size_t dot = domain.rfind('.');
    return dot != std::string_view::npos && dot > 0 && dot + 1 < domain.size();
}

std::variant<CheckoutRequest, InvalidInput> parse_checkout_request(std::string_view body) {
    const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return InvalidInput{"the body must be a JSON object"};
    }
    CheckoutRequest request;
    const nlohmann::json* email = string_field(json, "customer_email");
    request.customer_email = email ? trimmed(email->get<std::string>()) : std::string();
    if (!is_valid_email(request.customer_email)) {
        return InvalidInput{"customer_email is required and must be a valid email address"};
    }
    const nlohmann::json* cls = string_field(json, "cls");
    const auto parsed = cls ? parse_class(cls->get<std::string>()) : std::nullopt;
    if (!parsed) return InvalidInput{"invalid ticket class: cls must be \"A\" or \"B\""};
    request.cls = *parsed;
    return request;
}

namespace {
asio::awaitable<void> release_holds(Services& services, const accounting::HoldRequest& hold,
                                    bool goodie_held) {
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
    return session;
}
}  // namespace

asio::awaitable<CheckoutOutcome> checkout(Services& services, CheckoutRequest request) {
    // The order's id exists before its holds: they carry it, so the ledger can name the order
    // of every ticket it sold.
    const accounting::HoldRequest hold{request.cls, services.ids.next(), services.ids.next(),
                                       services.config.reservation_ttl_s, new_order_id()};
    auto held = co_await timed(services.timings.accounting_hold, services.ledger.hold(hold));
    if (!held) co_return held.fault();
    if (!held->ticket_held) co_return SoldOut{};

    const sessions::PaymentSession session = session_for(request, hold,
                                                         held->goodie_held);
    const std::uint32_t session_ttl_s =
        services.config.reservation_ttl_s + limits::session_ttl_margin_s;
    Status saved = co_await timed(services.timings.session_save,
                                  services.sessions.save(session, session_ttl_s));
    if (!saved) {
        co_await release_holds(services, hold, held->goodie_held);
        co_return saved.fault();
    }
    co_return CheckoutAccepted{session.order_id, session.psid, session.amount_cents};
}

}  // namespace tigerfans::flows

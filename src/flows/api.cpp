// HTTP handlers of the JSON API: parse, call a flow or a store, map the outcome to a status.
#include "tigerfans/flows/api.hpp"

#include <nlohmann/json.hpp>

#include "flows/seat_bench.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/flows/checkout.hpp"
#include "tigerfans/flows/idempotent_checkout.hpp"
#include "tigerfans/flows/webhook.hpp"
#include "tigerfans/http/errors.hpp"
#include "tigerfans/http/json_writer.hpp"

namespace tigerfans::flows {

namespace {
using http::Request;
using http::Response;
using nlohmann::json;

template <typename... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

json balance_json(const accounting::Balance& balance, std::int64_t now_us) {
    return {{"capacity", balance.capacity},         {"sold", balance.sold},
            {"active_holds", balance.held},         {"available", balance.available()},
            {"sold_out", balance.available() == 0}, {"timestamp", iso8601_utc(now_us)}};
}

// TICKETS_PER_EMAIL reached: 409, as for a sold-out class, since the request is fine and
// only the stock it asks for is not there for this address.
Response at_limit(const EmailLimitReached& reached) {
    return http::error_response(
        409, ticket_limit_error,
        "at most " + std::to_string(reached.limit) + " paid or held tickets per email address");
}

Response sold_out_answer(const SoldOut& sold_out) {
    if (sold_out.seats) {
        return http::error_response(409, "sold_out",
                                    "no seats of this category are free together in one row; "
                                    "held seats may come back when their holds expire");
    }
    return http::error_response(409, "sold_out",
                                "no tickets of this class are left; held tickets may "
                                "come back when their holds expire");
}

// 409 with the seats someone else holds or bought: the fan picks others.
Response seats_gone_answer(const SeatsGone& gone) {
    nlohmann::json body = {{"error", "seats_taken"},
                           {"detail", "some of these seats are held or sold; pick others"},
                           {"seats", gone.gone}};
    return Response::json(409, body.dump());
}

// 409 with Retry-After: the seats were there, but others' holds won them meanwhile.
Response seats_contended_answer() {
    Response response =
        http::error_response(409, seats_contended_error,
                             "others were holding these seats at the same moment; try again");
    response.headers.emplace_back("Retry-After", "1");
    return response;
}

asio::awaitable<Response> answer_checkout(Services& services, CheckoutRequest checkout_request) {
    const CheckoutOutcome outcome = co_await checkout(services, std::move(checkout_request));
    co_return std::visit(
        Overloaded{
            [](const CheckoutAccepted& accepted) {
                TF_ASSERT(orders::is_valid_order_id(accepted.order_id));
                return Response::json(200, checkout_answer_json(accepted));
            },
            [](const SoldOut& sold_out) { return sold_out_answer(sold_out); },
            [](const SeatsGone& gone) { return seats_gone_answer(gone); },
            [](const SeatsContended&) { return seats_contended_answer(); },
            [](const InvalidInput& invalid) { return http::bad_request(invalid.detail); },
            [](const EmailLimitReached& reached) { return at_limit(reached); },
            [](Fault fault) { return http::fault_response(fault, "checkout"); },
        },
        outcome);
}

// With a waiting room, the checkout counts one of its admission's tickets first and gives it
// back when it holds nothing.
asio::awaitable<Response> admitted_checkout(Services& services, WaitingRoom* waiting_room,
                                            std::string entry_id, CheckoutRequest request) {
    if (waiting_room == nullptr) co_return co_await answer_checkout(services, std::move(request));
    auto counted = co_await waiting_room->use_ticket(entry_id);
    if (!counted) co_return http::fault_response(counted.fault(), "checkout");
    if (!*counted) {
        co_return http::error_response(
            403, queue::refusal_name(queue::TokenRefusal::used_up),
            "this admission's checkouts are used up; join the queue again for more");
    }
    Response response = co_await answer_checkout(services, std::move(request));
    if (response.status != 200) co_await waiting_room->return_ticket(entry_id);
    co_return response;
}

Response admission_refused(queue::TokenRefusal refusal) {
    std::string_view detail = "checkout needs an admission from the queue: join it at /queue";
    if (refusal == queue::TokenRefusal::expired) {
        detail = "this admission has expired; join the queue again at /queue";
    } else if (refusal != queue::TokenRefusal::missing) {
        detail = "this is not an admission token of this server";
    }
    return http::error_response(403, queue::refusal_name(refusal), detail);
}

asio::awaitable<Response> answered(Response response) { co_return response; }

// With an Idempotency-Key, at most one checkout per key (flows/idempotent_checkout.hpp); a
// replay of a stored answer counts no admission ticket. With a waiting room, a keyed request
// meets its stored answer before its admission is checked: a fan whose first answer was lost
// gets it again after the admission expired (a refusal keeps nothing under the key).
asio::awaitable<Response> post_checkout(Services& services, WaitingRoom* waiting_room,
                                        Request& request) {
    auto parsed = parse_checkout_request(request.body);
    if (auto* invalid = std::get_if<InvalidInput>(&parsed))
        co_return http::bad_request(invalid->detail);
    CheckoutRequest checkout_request = std::get<CheckoutRequest>(std::move(parsed));
    // Called before the answer's first suspension, while `request` is the caller's.
    auto admitted = [waiting_room, &request](Services& with, CheckoutRequest admitting) {
        std::string entry_id;
        if (waiting_room != nullptr) {
            const queue::TokenCheck check =
                waiting_room->check_token(request, unix_now_us() / 1'000'000);
            if (!check.ok()) return answered(admission_refused(check.refusal));
            entry_id = check.admission->entry_id;
        }
        return admitted_checkout(with, waiting_room, std::move(entry_id), std::move(admitting));
    };
    const auto key = http::lookup_header(request.headers, idempotency_key_header);
    if (!key) co_return co_await admitted(services, std::move(checkout_request));
    // Two keys would leave which one the answer is kept under to chance (the first, here).
    if (http::count_headers(request.headers, idempotency_key_header) > 1) {
        co_return http::error_response(400, "invalid_idempotency_key",
                                       "send one Idempotency-Key, not several");
    }
    co_return co_await keyed_checkout(services, *key, std::move(checkout_request), admitted);
}

asio::awaitable<Response> post_webhook(Services& services, Request& request) {
    auto verified = verify_webhook(services.config.mock_secret, request.body,
                                   request.header(mockpay::signature_header));
    if (auto* rejected = std::get_if<WebhookRejected>(&verified)) {
        co_return http::error_response(rejected->status, rejected->error, rejected->detail);
    }
    const WebhookOutcome outcome =
        co_await handle_webhook(services, std::get<WebhookEvent>(verified));
    co_return std::visit(
        Overloaded{
            [](const WebhookSettled& settled) {
                return Response::json(200, webhook_answer_json(settled));
            },
            [](const SessionUnknown&) {
                return http::not_found("payment session not found (unknown or expired)");
            },
            [](const DeliveryInProgress&) {
                Response response = http::error_response(
                    409, "delivery_in_progress",
                    "another delivery of this payment session is being processed; retry later");
                response.headers.emplace_back("Retry-After", "1");
                return response;
            },
            [](Fault fault) { return http::fault_response(fault, "webhook"); },
        },
        outcome);
}

asio::awaitable<Response> get_order(Services& services, Request& request) {
    const std::string_view id = request.path_param("id");
    if (!orders::is_valid_order_id(id)) co_return http::not_found("order not found");
    auto found = co_await timed(services.timings.order_find, services.orders.find(id));
    if (!found) co_return http::fault_response(found.fault(), "order lookup");
    if (!found->has_value()) co_return http::not_found("order not found");
    TF_ASSERT_EQ((*found)->id, id);  // The store answered for the order it was asked about.
    // The order's ticket code is the fan's alone: no cache may keep it.
    Response response = Response::json(200, order_json(**found));
    response.with_header("Cache-Control", "no-store");
    co_return response;
}

asio::awaitable<Response> get_inventory(Services& services, Request&) {
    auto inventory =
        co_await timed(services.timings.accounting_inventory, services.ledger.inventory());
    if (!inventory) co_return http::fault_response(inventory.fault(), "inventory");
    co_return Response::json(200, inventory_json(*inventory));
}

json pending_item(const sessions::PaymentSession& session, std::int64_t now_us) {
    return {{"psid", session.psid},
            {"created_at", unix_seconds(session.created_at_us)},
            {"age_ms", std::max<std::int64_t>(0, (now_us - session.created_at_us) / 1000)},
            {"order_id", session.order_id},
            {"cls", class_name(session.cls)},
            {"qty", ticket_quantity},
            {"email", session.customer_email},
            {"amount", session.amount_cents},
            {"currency", session.currency},
            {"try_goodie", session.goodie_held},
            {"status", "PENDING"}};
}

asio::awaitable<Response> get_pending(Services& services, Request& request) {
    const std::optional<std::size_t> limit =
        request.limit_param(limits::pending_sessions_default, limits::pending_sessions_max);
    if (!limit) co_return http::bad_request("limit must be a whole number from 1");
    auto pending = co_await services.sessions.recent(*limit);
    if (!pending) co_return http::fault_response(pending.fault(), "pending sessions");
    const std::int64_t now_us = unix_now_us();
    json items = json::array();
    for (const auto& session : pending->sessions) items.push_back(pending_item(session, now_us));
    json body = {{"items", std::move(items)},
                 {"enabled", true},
                 {"limit", *limit},
                 {"total", pending->total}};
    co_return Response::json(200, body.dump());
}

std::optional<TicketClass> class_param(const Request& request) {
    const auto text = request.query_param("cls");
    return text ? parse_class(*text) : std::optional<TicketClass>(TicketClass::a);
}

void write_decimal(http::JsonObjectWriter& writer, std::string_view key, u128 value) {
    char digits[u128_decimal_digits_max];
    writer.string(key, std::string_view(digits, u128_to_decimal(value, digits)));
}

// Isolated accounting, as the demo's benchmark phases call it: hold one ticket of class A.
asio::awaitable<Response> get_reserve(Services& services, Request& request) {
    const auto cls = class_param(request);
    if (!cls) co_return http::bad_request("cls must be A or B");
    const accounting::HoldRequest hold{*cls, services.ids.next(), services.ids.next(),
                                       services.config.reservation_ttl_s};
    TF_ASSERT_LT(hold.ticket_hold_id, hold.goodie_hold_id);  // Two fresh, distinct ids.
    auto held = co_await timed(services.timings.accounting_hold, services.ledger.hold(hold));
    if (!held) co_return http::fault_response(held.fault(), "accounting hold");
    TF_ASSERT(held->ticket_held || !held->goodie_held);
    if (!held->ticket_held) co_return http::error_response(409, "sold_out", "nothing left to hold");
    http::JsonObjectWriter body;  // Members in alphabetical order, as nlohmann writes them.
    body.boolean("goodie_held", held->goodie_held);
    write_decimal(body, "goodie_tb_transfer_id", hold.goodie_hold_id);
    write_decimal(body, "tb_transfer_id", hold.ticket_hold_id);
    co_return Response::json(200, std::move(body).finish());
}

std::string_view resolution_name(accounting::Resolution resolution) {
    switch (resolution) {
        case accounting::Resolution::done: return "done";
        case accounting::Resolution::expired: return "expired";
        case accounting::Resolution::conflict: return "conflict";
        case accounting::Resolution::not_found: return "not_found";
    }
    return "unknown";
}

// Isolated accounting: post the holds that /api/accounting/reserve made.
asio::awaitable<Response> get_commit(Services& services, Request& request) {
    const auto ticket_text = request.query_param("tb_transfer_id");
    const auto goodie_text = request.query_param("goodie_tb_transfer_id");
    const auto ticket = ticket_text ? u128_from_decimal(*ticket_text) : std::nullopt;
    const auto goodie = goodie_text ? u128_from_decimal(*goodie_text) : std::nullopt;
    const auto cls = class_param(request);
    // A hold's id is a generated one: its top four bits, where a derived id keeps its kind, are
    // zero. Another would reach a post id the real hold's payment needs (derivation overwrites
    // those bits), and a post naming no hold spends that id for good.
    const auto is_hold_id = [](u128 id) { return (id >> derivation_shift) == 0; };
    if (!ticket || !goodie || *ticket == 0 || !cls || !is_hold_id(*ticket) ||
        !is_hold_id(*goodie)) {
        co_return http::bad_request("tb_transfer_id and goodie_tb_transfer_id must be decimal ids");
    }
    const accounting::CommitRequest commit{*cls, *ticket, *goodie, *goodie != 0};
    TF_ASSERT(commit.ticket_hold_id != 0);  // Checked above: a post needs the hold's id.
    auto committed =
        co_await timed(services.timings.accounting_commit, services.ledger.commit(commit));
    if (!committed) co_return http::fault_response(committed.fault(), "accounting commit");
    http::JsonObjectWriter body;  // Members in alphabetical order, as nlohmann writes them.
    body.string("goodie", resolution_name(committed->goodie));
    write_decimal(body, "goodie_tb_transfer_id", *goodie);
    write_decimal(body, "tb_transfer_id", *ticket);
    body.string("ticket", resolution_name(committed->ticket));
    co_return Response::json(200, std::move(body).finish());
}
}  // namespace

std::string inventory_json(const accounting::Inventory& inventory) {
    const std::int64_t now_us = unix_now_us();
    json body = {{"A", balance_json(inventory.class_a, now_us)},
                 {"B", balance_json(inventory.class_b, now_us)},
                 {"goodies", balance_json(inventory.goodies, now_us)}};
    return body.dump();
}

// Members in alphabetical order, as nlohmann writes them. A seat order has seats, no class.
std::string order_json(const orders::Order& order) {
    http::JsonObjectWriter body;
    body.integer("amount", order.amount_cents);
    if (order.seats.empty()) body.string("cls", class_name(order.cls));
    body.string("currency", order.currency)
        .boolean("got_goodie", order.got_goodie)
        .string("order_id", order.id);
    if (order.paid_at_us) {
        body.string("paid_at", iso8601_utc(*order.paid_at_us));
    } else {
        body.null("paid_at");
    }
    body.integer("qty", order.qty);
    if (!order.seats.empty()) body.integers("seats", order.seats);
    body.string("status", orders::status_name(order.status))
        .string("ticket_code", order.ticket_code);
    return std::move(body).finish();
}

std::string checkout_answer_json(const CheckoutAccepted& accepted) {
    constexpr std::string_view pay_at = "/mockpay/";
    std::string redirect_url;
    redirect_url.reserve(pay_at.size() + accepted.payment_session_id.size());
    redirect_url.append(pay_at).append(accepted.payment_session_id);
    http::JsonObjectWriter body;  // Members in alphabetical order, as nlohmann writes them.
    body.integer("amount", accepted.amount_cents)
        .string("currency", currency)
        .string("order_id", accepted.order_id)
        .string("redirect_url", redirect_url);
    if (!accepted.seats.empty()) body.integers("seats", accepted.seats);
    return std::move(body).finish();
}

std::string webhook_answer_json(const WebhookSettled& settled) {
    http::JsonObjectWriter body;  // Members in alphabetical order.
    if (settled.idempotent) body.boolean("idempotent", true);
    body.boolean("ok", true).string("order_status", orders::status_name(settled.status));
    return std::move(body).finish();
}

http::Routes api_routes(Services& services, OperatorCheck is_operator, WaitingRoom* waiting_room) {
    using http::Method;
    const auto with_services = std::ref(services);
    // The pending list names customers and their payment sessions (enough to cancel them).
    auto pending = [&services, is_operator](Request& request) -> asio::awaitable<Response> {
        if (!is_operator(request)) co_return http::unauthorized("admin login required");
        co_return co_await get_pending(services, request);
    };
    http::Routes routes = {
        // Another site's page would hold stock in its visitors' browsers, each from an address
        // of its own past the rate limit; browsers name that site in Origin.
        {Method::post, "/api/checkout",
         [&services, waiting_room](Request& request) -> asio::awaitable<Response> {
             if (!http::same_origin(request)) {
                 co_return http::error_response(403, "forbidden", "cross-site checkout");
             }
             co_return co_await post_checkout(services, waiting_room, request);
         }},
        {Method::post, "/payments/webhook", http::bind(with_services, post_webhook)},
        {Method::get, "/api/orders/{id}", http::bind(with_services, get_order)},
        {Method::get, "/api/inventory", http::bind(with_services, get_inventory)},
        {Method::get, "/api/pending", http::not_stored(pending)},
    };
    // The isolated accounting calls hold and post stock without an order: never on a server
    // that sells.
    if (services.config.bench_endpoints) {
        routes.push_back(
            {Method::get, "/api/accounting/reserve", http::bind(with_services, get_reserve)});
        routes.push_back(
            {Method::get, "/api/accounting/commit", http::bind(with_services, get_commit)});
        for (http::Route& route : seat_bench_routes(services)) routes.push_back(std::move(route));
    }
    return routes;
}

}  // namespace tigerfans::flows

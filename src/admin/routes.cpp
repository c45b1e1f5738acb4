// Admin pages and JSON endpoints.
#include "tigerfans/admin/routes.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/errors.hpp"

namespace tigerfans::admin {

namespace {
namespace asio = boost::asio;
using http::Request;
using http::Response;
using nlohmann::json;

std::optional<std::size_t> orders_limit(const Request& request) {
    return request.limit_param(limits::admin_orders_default, limits::admin_orders_max);
}

Response bad_limit() { return http::bad_request("limit must be a whole number from 1"); }

// A seat order lists its seat ids (its class means nothing).
json order_item(const orders::Order& order) {
    return {{"id", order.id},
            {"seats", order.seats},
            {"status", orders::status_name(order.status)},
            {"cls", class_name(order.cls)},
            {"qty", order.qty},
            {"amount", order.amount_cents},
            {"currency", order.currency},
            {"created_at_iso", iso8601_utc(order.created_at_us)},
            {"paid_at_iso", order.paid_at_us ? iso8601_utc(*order.paid_at_us) : "-"},
            {"got_goodie", order.got_goodie},
            {"ticket_code", order.ticket_code},
            {"email", order.customer_email}};
}

Response login_page(const AdminContext& context, unsigned status, std::string_view next,
                    std::string_view error) {
    const http::TemplateVars vars = {{"next", safe_next(next)}, {"error", std::string(error)}};
    return Response::html(status, context.templates.page("login", "Admin login", vars));
}

asio::awaitable<Response> get_orders(const AdminContext& context, Request& request) {
    if (!context.auth.is_admin(request)) co_return http::unauthorized("admin login required");
    const std::optional<std::size_t> limit = orders_limit(request);
    if (!limit) co_return bad_limit();
    auto recent = co_await context.orders.recent(*limit);
    if (!recent) co_return http::fault_response(recent.fault(), "orders");
    json items = json::array();
    for (const auto& order : *recent) items.push_back(order_item(order));
    co_return Response::json(200, json{{"items", std::move(items)}, {"limit", *limit}}.dump());
}

asio::awaitable<Response> get_goodies(const AdminContext& context, Request& request) {
    if (!context.auth.is_admin(request)) co_return http::unauthorized("admin login required");
    auto inventory = co_await context.ledger.inventory();
    if (!inventory) co_return http::fault_response(inventory.fault(), "goodies");
    const json body = {{"used", inventory->goodies.sold},
                       {"held", inventory->goodies.held},
                       {"limit", context.config.goodie_limit}};
    co_return Response::json(200, body.dump());
}

json duplicate_item(const orders::DuplicatePayment& duplicate) {
    return {{"payment_key", duplicate.payment_key},
            {"order_id", duplicate.order_id},
            {"paid_by", duplicate.paid_by},
            {"amount", duplicate.amount_cents},
            {"currency", duplicate.currency},
            {"email", duplicate.customer_email},
            {"recorded_at_iso", iso8601_utc(duplicate.recorded_at_us)}};
}

// Whether a payment MockPay gave up delivering is owed back, by its order now: none stored, or
// one that failed or was canceled, it is; one its own payment paid (the answers were lost) it
// is not, a PAID_UNFULFILLED one being listed with the refunds already; one another payment
// paid, it is; null when that cannot be told (the order's store failed, or the order does not
// know which payment paid it).
json owed_back(const Result<std::optional<orders::Order>>& found, std::string_view key) {
    if (!found) return nullptr;
    if (!found->has_value()) return true;
    const orders::Order& order = **found;
    if (order.status == orders::OrderStatus::failed ||
        order.status == orders::OrderStatus::canceled) {
        return true;
    }
    if (order.payment_key.empty()) return nullptr;
    return order.payment_key != orders::stored_payment_key(key);
}

// A payment MockPay gave up delivering, with its order's status now and whether it is owed
// back. Other events given up on (failures, cancels) paid nothing; the store lists payments
// only.
asio::awaitable<json> undelivered_payment_item(const AdminContext& context,
                                               const mockpay::UndeliveredEvent& undelivered) {
    const json event = json::parse(undelivered.body, nullptr, false);
    const auto text = [&](const char* name) {
        const auto found = event.is_object() ? event.find(name) : event.end();
        return found != event.end() && found->is_string() ? found->get<std::string>() : "";
    };
    const std::string order_id = text("order_id");
    Result<std::optional<orders::Order>> found = std::optional<orders::Order>{};
    if (orders::is_valid_order_id(order_id)) found = co_await context.orders.find(order_id);
    std::string order_status = "unknown";
    if (found) order_status = found->has_value() ? orders::status_name((*found)->status) : "none";
    const auto amount = event.is_object() ? event.find("amount") : event.end();
    co_return json{
        {"event_key", undelivered.event_key},
        {"psid", undelivered.psid},
        {"order_id", order_id},
        {"amount",
         amount != event.end() && amount->is_number_integer() ? amount->get<std::int64_t>() : 0},
        {"currency", text("currency")},
        {"email", text("customer_email")},
        {"order_status", order_status},
        {"owed_back", owed_back(found, text("idempotency_key"))},
        {"gave_up_at_iso", iso8601_utc(undelivered.gave_up_at_us)}};
}

// What is owed back: PAID_UNFULFILLED orders (customers who paid and got no ticket), duplicate
// payments (a second payment of an order, newest first) and payments MockPay gave up
// delivering, each up to the limit.
asio::awaitable<Response> get_refunds(const AdminContext& context, Request& request) {
    if (!context.auth.is_admin(request)) co_return http::unauthorized("admin login required");
    const std::optional<std::size_t> limit = orders_limit(request);
    if (!limit) co_return bad_limit();
    std::string first_page;
    auto refunds = co_await context.orders.with_status(orders::OrderStatus::paid_unfulfilled,
                                                       std::move(first_page), *limit);
    if (!refunds) co_return http::fault_response(refunds.fault(), "refunds");
    auto duplicates = co_await context.orders.duplicate_payments(*limit);
    if (!duplicates) co_return http::fault_response(duplicates.fault(), "duplicate payments");
    json items = json::array();
    for (const auto& order : *refunds) items.push_back(order_item(order));
    json duplicate_items = json::array();
    for (const auto& duplicate : *duplicates) duplicate_items.push_back(duplicate_item(duplicate));
    // MockPay's list comes from its own table: when that cannot be read (its outbox did not
    // start), the orders' lists are still answered, with the list marked unknown (null).
    auto undelivered = co_await context.mockpay.undelivered_payments(*limit);
    json undelivered_items = json::array();
    if (undelivered) {
        for (const auto& event : *undelivered) {
            undelivered_items.push_back(co_await undelivered_payment_item(context, event));
        }
    } else {
        spdlog::warn("admin: payments MockPay gave up on not read ({})",
                     fault_name(undelivered.fault()));
        undelivered_items = nullptr;
    }
    co_return Response::json(200, json{{"items", std::move(items)},
                                       {"duplicate_payments", std::move(duplicate_items)},
                                       {"undelivered_payments", std::move(undelivered_items)},
                                       {"limit", *limit}}
                                      .dump());
}

json reconcile_state(const flows::Reconciler& reconciler) {
    const auto& last = reconciler.last();
    return {{"running", reconciler.running()},
            {"last", last ? flows::to_json(*last) : json(nullptr)}};
}

asio::awaitable<Response> get_reconcile(const AdminContext& context, Request& request) {
    if (!context.auth.is_admin(request)) co_return http::unauthorized("admin login required");
    co_return Response::json(200, reconcile_state(context.reconciler).dump());
}

// Runs a pass now and answers its report. A POST from this site or with Basic credentials
// (a form on another site cannot start one).
asio::awaitable<Response> post_reconcile(const AdminContext& context, Request& request) {
    if (!context.auth.is_admin(request)) co_return http::unauthorized("admin login required");
    if (!http::same_origin(request)) co_return http::error_response(403, "forbidden", "cross-site");
    if (context.reconciler.running()) {
        co_return http::error_response(409, "reconcile_running", "a pass is running; try later");
    }
    auto report = co_await context.reconciler.run_now();
    if (!report) co_return http::fault_response(report.fault(), "reconcile");
    co_return Response::json(200, flows::to_json(*report).dump());
}

// The live view's samples, all of them or those stamped after `since_ms` (Unix ms), and the
// admission's state now.
asio::awaitable<Response> get_live(const AdminContext& context, Request& request) {
    if (!context.auth.is_admin(request)) co_return http::unauthorized("admin login required");
    std::int64_t since_ms = std::numeric_limits<std::int64_t>::min();
    if (const auto text = request.query_param("since_ms")) {
        const char* end = text->data() + text->size();
        const auto [stop, error] = std::from_chars(text->data(), end, since_ms);
        if (error != std::errc{} || stop != end) {
            co_return http::bad_request("since_ms must be an integer (Unix ms)");
        }
    }
    json samples = json::array();
    for (const LiveSample& sample : context.live.series().since(since_ms)) {
        samples.push_back(to_json(sample));
    }
    const json body = {{"server", context.config.server_name},
                       {"interval_ms", context.live.interval().count()},
                       {"admission", to_json(context.admission.state())},
                       {"samples", std::move(samples)}};
    co_return Response::json(200, body.dump());
}

// Pauses or resumes admission and sets its rate, and answers the admission's state. A POST
// from this site or with Basic credentials, as for a reconciliation pass.
asio::awaitable<Response> post_admission(const AdminContext& context, Request& request) {
    if (!context.auth.is_admin(request)) co_return http::unauthorized("admin login required");
    if (!http::same_origin(request)) co_return http::error_response(403, "forbidden", "cross-site");
    const auto parsed = parse_admission_change(request.body);
    if (const auto* invalid = std::get_if<std::string>(&parsed))
        co_return http::bad_request(*invalid);
    const AdmissionChange& change = std::get<AdmissionChange>(parsed);
    if (change.per_second) {
        context.admission.set_rate(*change.per_second);
        spdlog::info("admin: admission rate set to {}/s", *change.per_second);
    }
    if (change.paused) {
        context.admission.set_paused(*change.paused);
        spdlog::info("admin: admission {}", *change.paused ? "paused" : "resumed");
    }
    co_return Response::json(200, to_json(context.admission.state()).dump());
}

asio::awaitable<Response> get_dashboard(const AdminContext& context, Request& request) {
    if (!context.auth.is_admin(request)) {
        co_return Response::redirect("/admin/login?next=/admin", 307);
    }
    const http::TemplateVars vars = {
        {"admit_per_second_max", std::to_string(limits::admit_per_second_max)},
        {"goodie_limit", std::to_string(context.config.goodie_limit)},
        {"level", std::string(config::backend_level_name(context.config))},
        {"orders_limit", std::to_string(limits::admin_orders_default)},
        {"server", context.config.server_name},
    };
    Response page = Response::html(200, context.templates.page("admin", "Admin", vars));
    page.with_header("Cache-Control", "no-store");
    co_return page;
}

asio::awaitable<Response> get_login(const AdminContext& context, Request& request) {
    co_return login_page(context, 200, request.query_param("next").value_or("/admin"), "");
}

Response too_many_attempts(std::int64_t wait_s) {
    Response response =
        http::error_response(429, "too_many_attempts", "too many wrong passwords; try again later");
    response.headers.emplace_back("Retry-After", std::to_string(wait_s));
    return response;
}

// Wrong passwords are throttled per address and per user name before they are even checked,
// so guessing is slowed to a few tries, then one per growing pause.
asio::awaitable<Response> post_login(const AdminContext& context, Request& request) {
    if (!http::same_origin(request))
        co_return http::error_response(403, "forbidden", "cross-site form");
    const auto form = http::parse_form(request.body);
    if (!form) co_return http::bad_request("malformed form body");
    const std::string username = http::form_value(request.body, "username").value_or("");
    const std::string password = http::form_value(request.body, "password").value_or("");
    const std::string next = http::form_value(request.body, "next").value_or("/admin");
    const std::int64_t now_us = steady_now_us();  // The throttle's clock.
    const std::string& address = request.remote_address;
    const std::int64_t wait_s = context.login_throttle.wait_s(address, username, now_us);
    if (wait_s > 0) co_return too_many_attempts(wait_s);
    if (!context.auth.credentials_match(username, password)) {
        context.login_throttle.failed(address, username, now_us);
        co_return login_page(context, 401, next, "Invalid credentials.");
    }
    context.login_throttle.succeeded(address, username, now_us);
    Response response = Response::redirect(safe_next(next));
    response.with_header("Set-Cookie",
                         context.auth.login_cookie(username, context.config.cookie_secure));
    co_return response;
}

// A POST (a link or an image cannot log anyone out) from this site, and the session ends on
// the server too: the cookie is refused even if a copy of it survives.
asio::awaitable<Response> post_logout(const AdminContext& context, Request& request) {
    if (!http::same_origin(request))
        co_return http::error_response(403, "forbidden", "cross-site form");
    context.auth.revoke(request);
    Response response = Response::redirect("/");
    response.with_header("Set-Cookie", Auth::logout_cookie(context.config.cookie_secure));
    co_return response;
}
// An admin API's handler: its answers carry customers' data and the sale's state, which no cache
// may keep (a shared one would hand them to the next asker, a browser's outlives the logout).
template <typename Function>
http::Handler admin_api(const AdminContext& context, Function function) {
    return http::not_stored(http::bind(context, function));
}

}  // namespace

http::Routes admin_routes(const AdminContext& context) {
    using http::Method;
    return {
        {Method::get, "/admin", http::bind(context, get_dashboard)},
        {Method::get, "/admin/login", http::bind(context, get_login)},
        {Method::post, "/admin/login", http::bind(context, post_login)},
        {Method::post, "/admin/logout", http::bind(context, post_logout)},
        {Method::get, "/api/admin/orders", admin_api(context, get_orders)},
        {Method::get, "/api/admin/goodies", admin_api(context, get_goodies)},
        {Method::get, "/api/admin/refunds", admin_api(context, get_refunds)},
        {Method::get, "/api/admin/reconcile", admin_api(context, get_reconcile)},
        {Method::post, "/api/admin/reconcile", admin_api(context, post_reconcile)},
        {Method::get, "/api/admin/live", admin_api(context, get_live)},
        {Method::post, "/api/admin/admission", admin_api(context, post_admission)},
    };
}

}  // namespace tigerfans::admin

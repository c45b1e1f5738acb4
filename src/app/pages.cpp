// Landing, waiting room, checkout, seat map and success pages. The pages fetch live data from the
// JSON API.
#include "tigerfans/app/pages.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tigerfans/app/qr.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/errors.hpp"

namespace tigerfans::app {

namespace {
namespace asio = boost::asio;
using http::Request;
using http::Response;

// The newest recorded benchmark (bench/run_bench.py writes latest.json), read per request:
// results change while the server runs.
Response bench_results(const std::string& directory) {
    const std::filesystem::path path = std::filesystem::path(directory) / "latest.json";
    std::error_code error;
    const auto size = std::filesystem::file_size(path, error);
    if (error) return http::not_found("no benchmark results recorded yet (run make bench)");
    if (size > limits::bench_results_bytes_max) {
        return http::error_response(500, "internal_error", "benchmark results file too large");
    }
    std::ifstream file(path, std::ios::binary);
    std::ostringstream body;
    body << file.rdbuf();
    Response response = Response::json(200, body.str());
    response.with_header("Cache-Control", "no-store");
    return response;
}

// The backend names come from the templates' globals (set by the app). `seats_hidden` hides
// the way to the seat map when the sale has no reserved seating.
http::TemplateVars common_vars(const config::Config& config) {
    return {{"level", std::string(config::backend_level_name(config))},
            {"price_a", "65.00"},
            {"price_b", "35.00"},
            {"seats_hidden", config.venue.empty() ? "hidden" : ""}};
}

// A page: its template filled with the common values and the query parameters it names.
Response page(const PagesContext& context, const Request& request, const char* name,
              const char* title, std::initializer_list<const char*> query_params) {
    http::TemplateVars vars = common_vars(context.config);
    for (const char* param : query_params) {
        vars.emplace_back(param, request.query_param(param).value_or(""));
    }
    return Response::html(200, context.templates.page(name, title, vars));
}

// The answer of a handler that has it at once. The page handlers below are plain functions
// that hand their answer to this coroutine (GCC 12 miscompiles braced lists inside coroutines).
asio::awaitable<Response> answer(Response response) { co_return response; }

asio::awaitable<Response> get_landing(const PagesContext& context, Request& request) {
    return answer(page(context, request, "landing", "TigerFans", {}));
}

// The waiting room page: with WAITING_ROOM=off it says there is no queue and links to checkout.
Response queue_page(const PagesContext& context) {
    const config::Config& config = context.config;
    http::TemplateVars vars = common_vars(config);
    vars.emplace_back("waiting_room", config.waiting_room ? "on" : "off");
    vars.emplace_back("sale_opens_at",
                      config.sale_opens_at_us ? iso8601_utc(*config.sale_opens_at_us) : "");
    Response response = Response::html(200, context.templates.page("queue", "Waiting room", vars));
    response.with_header("Cache-Control", "no-store");
    return response;
}

asio::awaitable<Response> get_queue(const PagesContext& context, Request&) {
    return answer(queue_page(context));
}

asio::awaitable<Response> get_checkout(const PagesContext& context, Request& request) {
    return answer(page(context, request, "checkout", "Checkout", {"status", "order_id"}));
}

asio::awaitable<Response> get_seats(const PagesContext& context, Request& request) {
    return answer(page(context, request, "seats", "Pick your seats", {}));
}

asio::awaitable<Response> get_success(const PagesContext& context, Request& request) {
    return answer(page(context, request, "success", "Your ticket", {"order_id"}));
}

asio::awaitable<Response> get_bench(const PagesContext& context, Request& request) {
    return answer(page(context, request, "bench", "TigerBench", {}));
}

asio::awaitable<Response> get_bench_results(const PagesContext& context, Request&) {
    return answer(bench_results(context.config.bench_results_dir));
}

// The ticket of a paid order as a QR code.
asio::awaitable<Response> get_ticket_qr(const PagesContext& context, Request& request) {
    const std::string_view id = request.path_param("id");
    if (!orders::is_valid_order_id(id)) co_return http::not_found("order not found");
    auto found = co_await context.orders.find(id);
    if (!found) co_return http::fault_response(found.fault(), "order lookup");
    if (!found->has_value() || (*found)->ticket_code.empty()) {
        co_return http::not_found("no ticket for this order");
    }
    TF_ASSERT_EQ((*found)->id, id);  // The order that was asked for.
    auto svg = qr_svg((*found)->ticket_code);
    if (!svg) co_return http::error_response(500, "internal_error", "QR encoding failed");
    Response response = Response::text(200, std::move(*svg), "image/svg+xml");
    response.with_header("Cache-Control", "private, max-age=86400");
    co_return response;
}
}  // namespace

http::Routes page_routes(const PagesContext& context) {
    using http::Method;
    return {
        {Method::get, "/", http::bind(context, get_landing)},
        {Method::get, "/queue", http::bind(context, get_queue)},
        {Method::get, "/demo/checkout", http::bind(context, get_checkout)},
        {Method::get, "/demo/success", http::bind(context, get_success)},
        {Method::get, "/demo/seats", http::bind(context, get_seats)},
        {Method::get, "/api/orders/{id}/qr.svg", http::bind(context, get_ticket_qr)},
        {Method::get, "/bench", http::bind(context, get_bench)},
        {Method::get, "/api/bench/results", http::bind(context, get_bench_results)},
    };
}

}  // namespace tigerfans::app

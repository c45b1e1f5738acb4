// Landing, checkout and success pages. The pages fetch live data from the JSON API.
#include "tigerfans/app/pages.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tigerfans/app/qr.hpp"
#include "tigerfans/core/assert.hpp"
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

// The backend names come from the templates' globals (set by the app).
http::TemplateVars common_vars(const config::Config& config) {
    return {{"level", std::string(config::backend_level_name(config))},
            {"price_a", "65.00"},
            {"price_b", "35.00"}};
}
}  // namespace

void add_page_routes(http::Router& router, flows::Services& services,
                     const http::Templates& templates) {
    const config::Config& config = services.config;
    router.get("/", [&config, &templates](Request&) -> asio::awaitable<Response> {
        co_return Response::html(200, templates.page("landing", "TigerFans", common_vars(config)));
    });
    router.get("/demo/checkout",
               [&config, &templates](Request& request) -> asio::awaitable<Response> {
                   http::TemplateVars vars = common_vars(config);
                   vars.emplace_back("status", request.query_param("status").value_or(""));
                   vars.emplace_back("order_id", request.query_param("order_id").value_or(""));
                   co_return Response::html(200, templates.page("checkout", "Checkout", vars));
               });
    router.get("/api/orders/{id}/qr.svg",
               [&services](Request& request) -> asio::awaitable<Response> {
                   const std::string_view id = request.path_param("id");
                   if (!orders::is_valid_order_id(id)) co_return http::not_found("order not found");
                   auto found = co_await services.orders.find(id);
                   if (!found) co_return http::fault_response(found.fault(), "order lookup");
                   if (!found->has_value() || (*found)->ticket_code.empty()) {
                       co_return http::not_found("no ticket for this order");
                   }
                   TF_ASSERT_EQ((*found)->id, id);  // The order that was asked for.
                   auto svg = qr_svg((*found)->ticket_code);
                   if (!svg)
                       co_return http::error_response(500, "internal_error", "QR encoding failed");
                   Response response = Response::text(200, std::move(*svg), "image/svg+xml");
                   response.with_header("Cache-Control", "private, max-age=86400");
                   co_return response;
               });
    router.get("/bench", [&config, &templates](Request&) -> asio::awaitable<Response> {
        co_return Response::html(200, templates.page("bench", "TigerBench", common_vars(config)));
    });
    router.get("/api/bench/results", [&config](Request&) -> asio::awaitable<Response> {
        co_return bench_results(config.bench_results_dir);
    });
    router.get("/demo/success",
               [&config, &templates](Request& request) -> asio::awaitable<Response> {
                   http::TemplateVars vars = common_vars(config);
                   vars.emplace_back("order_id", request.query_param("order_id").value_or(""));
                   co_return Response::html(200, templates.page("success", "Your ticket", vars));
               });
}

}  // namespace tigerfans::app

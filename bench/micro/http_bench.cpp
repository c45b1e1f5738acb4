// The HTTP layer's hot pieces, one request at a time: parsing a request out of the connection's
// buffer into the reused Request (as http/server.cpp does on a warm keep-alive connection),
// matching it against the server's route table, and writing a hot answer's JSON (with the
// nlohmann document it replaces as the reference).
#include <benchmark/benchmark.h>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "http/request_parser.hpp"
#include "tigerfans/http/json_writer.hpp"
#include "tigerfans/http/router.hpp"
#include "tigerfans/http/server.hpp"

namespace {

using namespace tigerfans::http;

constexpr std::string_view order_id = "0195a3c4e1f27b8d9c0a4b6e8f1d2c3a";

// A request as the load client sends it: its headers, then `body` when there is one.
std::string request_bytes(std::string_view method, std::string_view target, std::string_view body) {
    std::string bytes;
    bytes.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    bytes.append("Host: 127.0.0.1:8000\r\nUser-Agent: tigerfans-load\r\nAccept: */*\r\n");
    if (!body.empty()) {
        bytes.append("Content-Type: application/json\r\nContent-Length: ");
        bytes.append(std::to_string(body.size())).append("\r\n");
    }
    bytes.append("\r\n").append(body);
    return bytes;
}

void parse_request(benchmark::State& state, const std::string& bytes) {
    const ServerLimits limits = default_server_limits();
    Request request;
    boost::beast::flat_buffer buffer;
    for (auto _ : state) {
        std::memcpy(buffer.prepare(bytes.size()).data(), bytes.data(), bytes.size());
        buffer.commit(bytes.size());
        RequestParser parser(request, limits.header_bytes_max, limits.body_bytes_max);
        if (parse_buffered(parser, buffer)) state.SkipWithError("the request did not parse");
        benchmark::DoNotOptimize(request.body.data());
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK_CAPTURE(parse_request, get_order,
                  request_bytes("GET", "/api/orders/" + std::string(order_id), ""));
BENCHMARK_CAPTURE(parse_request, post_checkout,
                  request_bytes("POST", "/api/checkout",
                                R"({"cls":"A","customer_email":"fan-17@example.com"})"));

boost::asio::awaitable<Response> no_answer(Request&) { co_return Response::json(200, "{}"); }

// The server's routes in the order the app adds them (API, pages, admin, MockPay, static files,
// health and metrics): the router tries them one after another.
Router server_routes() {
    constexpr std::pair<Method, const char*> routes[] = {
        {Method::post, "/api/checkout"},
        {Method::post, "/payments/webhook"},
        {Method::get, "/api/orders/{id}"},
        {Method::get, "/api/inventory"},
        {Method::get, "/api/pending"},
        {Method::get, "/api/accounting/reserve"},
        {Method::get, "/api/accounting/commit"},
        {Method::get, "/"},
        {Method::get, "/demo/checkout"},
        {Method::get, "/api/orders/{id}/qr.svg"},
        {Method::get, "/bench"},
        {Method::get, "/api/bench/results"},
        {Method::get, "/demo/success"},
        {Method::get, "/admin"},
        {Method::get, "/admin/login"},
        {Method::post, "/admin/login"},
        {Method::post, "/admin/logout"},
        {Method::get, "/api/admin/orders"},
        {Method::get, "/api/admin/goodies"},
        {Method::get, "/api/admin/refunds"},
        {Method::get, "/api/admin/reconcile"},
        {Method::post, "/api/admin/reconcile"},
        {Method::get, "/mockpay/{psid}"},
        {Method::post, "/mockpay/{psid}/emit"},
        {Method::get, "/static/{name}"},
        {Method::get, "/healthz"},
        {Method::get, "/metrics"},
    };
    Router router;
    for (const auto& [method, pattern] : routes) router.add(method, pattern, no_answer);
    return router;
}

void route(benchmark::State& state, Method method, std::string path, bool known) {
    const Router router = server_routes();
    Request request;
    request.method = method;
    request.path = std::move(path);
    for (auto _ : state) {
        const Router::Match match = router.match(request);
        if ((match.handler != nullptr) != known) state.SkipWithError("unexpected route match");
        benchmark::DoNotOptimize(match.handler);
    }
}
BENCHMARK_CAPTURE(route, checkout, Method::post, "/api/checkout", true);
BENCHMARK_CAPTURE(route, webhook, Method::post, "/payments/webhook", true);
BENCHMARK_CAPTURE(route, order_status, Method::get, "/api/orders/" + std::string(order_id), true);
BENCHMARK_CAPTURE(route, metrics_last, Method::get, "/metrics", true);
BENCHMARK_CAPTURE(route, not_found, Method::get, "/no/such/page", false);

constexpr std::string_view redirect_url =
    "http://127.0.0.1:8000/mockpay/mock_9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c";

// The checkout answer, as api.cpp writes it.
void json_checkout_answer(benchmark::State& state) {
    for (auto _ : state) {
        JsonObjectWriter body;
        body.integer("amount", 6500)
            .string("currency", "eur")
            .string("order_id", order_id)
            .string("redirect_url", redirect_url);
        std::string text = std::move(body).finish();
        benchmark::DoNotOptimize(text.data());
    }
}
BENCHMARK(json_checkout_answer);

// The same answer built as an nlohmann document and dumped.
void json_checkout_answer_nlohmann(benchmark::State& state) {
    for (auto _ : state) {
        const nlohmann::json body = {{"amount", 6500},
                                     {"currency", "eur"},
                                     {"order_id", order_id},
                                     {"redirect_url", redirect_url}};
        std::string text = body.dump();
        benchmark::DoNotOptimize(text.data());
    }
}
BENCHMARK(json_checkout_answer_nlohmann);

// A string with controls and quotes, escaped as nlohmann's dump() does.
void json_escaped_string(benchmark::State& state) {
    const std::string value = "line one\n\"quoted\"\tand a bell \x07 then plain text to the end";
    std::string out;
    for (auto _ : state) {
        out.clear();
        append_json_string(out, value);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(json_escaped_string);

}  // namespace

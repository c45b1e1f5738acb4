// HTTP helpers: routing with captures, 404 vs 405, forms and percent-coding, templates,
// error bodies, URL parsing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/run_async.hpp"
#include "tigerfans/http/client.hpp"
#include "tigerfans/http/errors.hpp"
#include "tigerfans/http/etag.hpp"
#include "tigerfans/http/gzip.hpp"
#include "tigerfans/http/router.hpp"
#include "tigerfans/http/static_files.hpp"
#include "tigerfans/http/templates.hpp"

namespace tigerfans::http {
namespace {

namespace asio = boost::asio;

Handler answer(std::string text) {
    return [text](Request& request) -> asio::awaitable<Response> {
        co_return Response::text(200, text + ":" + std::string(request.path_param("id")),
                                 "text/plain");
    };
}

Response route(const Router& router, Method method, std::string path) {
    asio::io_context io;
    Request request;
    request.method = method;
    request.path = std::move(path);
    return testing::run_async(io, [&]() { return router.handle(request); });
}

TEST(Router, MatchesLiteralSegmentsAndCaptures) {
    Router router;
    router.get("/api/orders/{id}", answer("order"));
    router.get("/api/orders/{id}/qr.svg", answer("qr"));
    EXPECT_EQ(route(router, Method::get, "/api/orders/abc").body, "order:abc");
    EXPECT_EQ(route(router, Method::get, "/api/orders/abc/qr.svg").body, "qr:abc");
    EXPECT_EQ(route(router, Method::get, "/api/orders/").status, 404u);
    EXPECT_EQ(route(router, Method::get, "/api/orders").status, 404u);
}

TEST(Router, KnownPathWithAnotherMethodIs405WithAllowAndAJsonBody) {
    Router router;
    router.post("/api/checkout", answer("checkout"));
    const Response response = route(router, Method::get, "/api/checkout");
    EXPECT_EQ(response.status, 405u);
    EXPECT_EQ(find_header(response.headers, "allow"), "POST");
    EXPECT_EQ(nlohmann::json::parse(response.body)["error"], "method_not_allowed");
}

// A literal segment is more specific than a capture, whatever the order the routes were added
// in: a method routed only for the literal path is a 405 there, not the capture's handler.
TEST(Router, ALiteralSegmentBeatsACapture) {
    Router router;
    router.get("/api/queue/{id}", answer("status"));
    router.post("/api/queue/join", answer("join"));
    router.get("/api/orders/{id}", answer("order"));
    router.get("/api/orders/latest", answer("latest"));
    const Response response = route(router, Method::get, "/api/queue/join");
    EXPECT_EQ(response.status, 405u);
    EXPECT_EQ(find_header(response.headers, "allow"), "POST");
    EXPECT_EQ(route(router, Method::post, "/api/queue/join").body, "join:");
    EXPECT_EQ(route(router, Method::get, "/api/queue/abc").body, "status:abc");
    EXPECT_EQ(route(router, Method::get, "/api/orders/latest").body, "latest:");
    EXPECT_EQ(route(router, Method::get, "/api/orders/abc").body, "order:abc");
}

// `?limit=`: absent gives the default, a whole number from 1 is clamped to the most, anything
// else is refused (the route answers 400) rather than read as something else, as is a limit
// given twice or beside a field that does not parse (the limit it meant cannot be known).
TEST(Request, ALimitIsAWholeNumberFromOneOrRefused) {
    const auto limit = [](std::string query) {
        Request request;
        request.query = std::move(query);
        return request.limit_param(20, 500);
    };
    EXPECT_EQ(limit(""), 20u);
    EXPECT_EQ(limit("other=1"), 20u);
    EXPECT_EQ(limit("limit=5"), 5u);
    EXPECT_EQ(limit("limit=007"), 7u);
    EXPECT_EQ(limit("limit=501"), 500u);
    EXPECT_EQ(limit("limit=999999999999999999"), 500u);
    for (const char* bad : {"limit=", "limit=abc", "limit=1e3", "limit=-5", "limit=0", "limit=+5",
                            "limit=5x", "limit=%205", "limit=9999999999999999999",
                            "limit=5&limit=6", "other=%zz&limit=5", "limit=5&%zz"}) {
        EXPECT_EQ(limit(bad), std::nullopt) << bad;
    }
}

// Every value of a cookie, in every Cookie field and in order, until the visitor is satisfied.
TEST(Request, FindCookieVisitsEachValueOfTheNameInEveryCookieField) {
    Request request;
    request.headers = {{"Cookie", "a=1; b=2; a=3"}, {"X", "a=9"}, {"cookie", "ab=4;a=5"}};
    std::vector<std::string> seen;
    EXPECT_FALSE(find_cookie(request, "a", [&](std::string_view value) {
        seen.emplace_back(value);
        return false;
    }));
    EXPECT_EQ(seen, (std::vector<std::string>{"1", "3", "5"}));
    seen.clear();
    EXPECT_TRUE(find_cookie(request, "a", [&](std::string_view value) {
        seen.emplace_back(value);
        return value == "3";
    }));
    EXPECT_EQ(seen, (std::vector<std::string>{"1", "3"}));
    // A request packed with values of one name is read no further than its first four.
    Request packed;
    packed.headers = {{"Cookie", "a=1; a=2; a=3"}, {"Cookie", "a=4; a=5"}};
    seen.clear();
    EXPECT_FALSE(find_cookie(packed, "a", [&](std::string_view value) {
        seen.emplace_back(value);
        return value == "5";
    }));
    EXPECT_EQ(seen, (std::vector<std::string>{"1", "2", "3", "4"}));
    EXPECT_EQ(cookie_value("a=1; b=2; a=3", "a"), "1");
    EXPECT_EQ(cookie_value("ab=1", "a"), std::nullopt);
}

// A cookie set for the whole site, SameSite=Lax, HttpOnly and Secure only when asked; an age
// below zero (a token already expired) removes it.
TEST(Response, SetCookieNamesItsAttributes) {
    EXPECT_EQ(set_cookie("a", "1", 60, {}), "a=1; Path=/; Max-Age=60; SameSite=Lax");
    EXPECT_EQ(set_cookie("a", "1", 60, {.http_only = true}),
              "a=1; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
    EXPECT_EQ(set_cookie("a", "1", 60, {.secure = true}),
              "a=1; Path=/; Max-Age=60; Secure; SameSite=Lax");
    EXPECT_EQ(set_cookie("a", "", -5, {.http_only = true, .secure = true}),
              "a=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
}

// Origin names this site when its host is Host's, whatever the case of either (host names
// are case-insensitive); no Origin is same-site (a browser's own navigation, or no browser).
TEST(Request, SameOriginComparesHostNamesWithoutRegardToCase) {
    const auto request = [](std::string origin, std::string host) {
        Request made;
        if (!origin.empty()) made.headers.emplace_back("Origin", std::move(origin));
        made.headers.emplace_back("Host", std::move(host));
        return made;
    };
    EXPECT_TRUE(same_origin(request("", "shop.example")));
    EXPECT_TRUE(same_origin(request("https://Shop.Example:8443", "shop.example:8443")));
    EXPECT_TRUE(same_origin(request("http://shop.example", "SHOP.example")));
    EXPECT_FALSE(same_origin(request("http://evil.example", "shop.example")));
    EXPECT_FALSE(same_origin(request("http://shop.example.evil", "shop.example")));
    EXPECT_FALSE(same_origin(request("http://shop.example", "")));
}

TEST(Router, HeadIsServedByTheGetHandler) {
    Router router;
    router.get("/", answer("home"));
    EXPECT_EQ(route(router, Method::head, "/").status, 200u);
}

TEST(Router, AThrowingHandlerBecomesA500NotACrash) {
    Router router;
    router.get("/boom", [](Request&) -> asio::awaitable<Response> {
        throw std::runtime_error("boom");
        co_return Response{};
    });
    const Response response = route(router, Method::get, "/boom");
    EXPECT_EQ(response.status, 500u);
    EXPECT_EQ(nlohmann::json::parse(response.body)["error"], "internal_error");
}

// A content's tag is 96 bits of its SHA-256 (of "abc": ba7816bf...), quoted.
TEST(ETag, NamesContentByItsDigest) {
    EXPECT_EQ(etag_of("abc"), R"("ba7816bf8f01cfea414140de")");
    EXPECT_NE(etag_of("abd"), etag_of("abc"));
}

// If-None-Match names the tag alone, in a list, weakly or as `*`; anything else is a miss.
TEST(ETag, IfNoneMatchMatchesListsWeakTagsAndStar) {
    EXPECT_TRUE(etag_matches(R"("abc")", R"("abc")"));
    EXPECT_TRUE(etag_matches(R"("x", "abc")", R"("abc")"));
    EXPECT_TRUE(etag_matches(R"(W/"abc")", R"("abc")"));
    EXPECT_TRUE(etag_matches(" * ", R"("abc")"));
    EXPECT_FALSE(etag_matches("", R"("abc")"));
    EXPECT_FALSE(etag_matches(R"("abcd")", R"("abc")"));
    EXPECT_FALSE(etag_matches("abc", R"("abc")"));
    EXPECT_FALSE(etag_matches(R"(, ,)", R"("abc")"));
    EXPECT_FALSE(etag_matches(R"("abc")", ""));
}

// A body comes back from its gzip whole; a mostly repeated one (a seat map of free seats)
// shrinks many times.
TEST(Gzip, RoundTripsAndShrinksRepetition) {
    const std::string map = R"({"states":")" + std::string(16'468, 'A') + R"("})";
    const std::string compressed = gzip(map);
    EXPECT_LT(compressed.size(), map.size() / 20);
    EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);  // gzip's magic.
    EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
    EXPECT_EQ(gunzip(compressed, map.size()), map);
    EXPECT_EQ(gunzip(gzip(""), 0), "");
    std::string mixed;
    for (int i = 0; i < 5'000; i++) mixed += std::to_string(i * 7919 % 104729) + ",";
    EXPECT_EQ(gunzip(gzip(mixed), mixed.size()), mixed);
}

// Anything but one whole gzip member within the size limit is refused.
TEST(Gzip, RefusesDamagedTruncatedTrailedAndOversizedInput) {
    const std::string content(10'000, 'x');
    const std::string compressed = gzip(content);
    EXPECT_FALSE(gunzip(compressed, content.size() - 1));
    EXPECT_FALSE(gunzip(compressed.substr(0, compressed.size() - 4), content.size()));
    EXPECT_FALSE(gunzip(compressed + "x", content.size()));
    EXPECT_FALSE(gunzip(content, content.size()));
    EXPECT_FALSE(gunzip("", content.size()));
    std::string damaged = compressed;
    damaged[damaged.size() - 6] ^= 0x55;  // The trailer's checksum no longer fits.
    EXPECT_FALSE(gunzip(damaged, content.size()));
}

// Accept-Encoding allows gzip when it names gzip (or x-gzip, or `*`) without a zero weight.
TEST(Gzip, AcceptEncodingAllowsGzipUnlessWeighedZero) {
    EXPECT_TRUE(accepts_gzip("gzip"));
    EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
    EXPECT_TRUE(accepts_gzip("br;q=1.0, GZip;q=0.5"));
    EXPECT_TRUE(accepts_gzip("x-gzip"));
    EXPECT_TRUE(accepts_gzip("*"));
    EXPECT_TRUE(accepts_gzip(" deflate , * ; q=0.1"));
    EXPECT_FALSE(accepts_gzip(""));
    EXPECT_FALSE(accepts_gzip("identity"));
    EXPECT_FALSE(accepts_gzip("deflate, br"));
    EXPECT_FALSE(accepts_gzip("gzip;q=0"));
    EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
    EXPECT_FALSE(accepts_gzip("*, gzip;q=0"));  // Named with weight zero wins over `*`.
    EXPECT_FALSE(accepts_gzip("*;q=0"));
    EXPECT_FALSE(accepts_gzip("gzipped"));
}

TEST(Forms, ParsesPercentAndPlusAndRejectsBrokenEscapes) {
    EXPECT_EQ(form_value("t=succeeded&x=1", "t"), "succeeded");
    EXPECT_EQ(form_value("next=%2Fadmin%3Fa%3Db&u=a+b", "next"), "/admin?a=b");
    EXPECT_EQ(form_value("next=%2Fadmin%3Fa%3Db&u=a+b", "u"), "a b");
    EXPECT_FALSE(form_value("t=%zz", "t"));
    EXPECT_FALSE(form_value("t=%2", "t"));
    EXPECT_FALSE(form_value("a=1", "t"));
    EXPECT_EQ(percent_encode("a b/c"), "a%20b%2Fc");
}

TEST(Templates, EscapesValuesUnlessTripleBraced) {
    const TemplateVars vars = {{"name", "<b>&\"'"}, {"markup", "<i>x</i>"}};
    EXPECT_EQ(fill_template("{{ name }}|{{{markup}}}|{{missing}}", vars),
              "&lt;b&gt;&amp;&quot;&#39;|<i>x</i>|");
}

// A page's own values never stand for the layout's title or content: a value of that name
// would otherwise be put in raw as the page's markup.
TEST(Templates, APageValueNamedContentOrTitleNeverReplacesTheLayouts) {
    namespace fs = std::filesystem;
    const fs::path directory =
        fs::temp_directory_path() / ("tigerfans-templates-" + std::to_string(::getpid()));
    fs::create_directories(directory);
    std::ofstream(directory / "layout.html") << "<title>{{title}}</title>{{{content}}}";
    std::ofstream(directory / "page.html") << "<p>{{content}} {{title}}</p>";
    const Templates templates(directory.string());
    const TemplateVars vars = {{"content", "<script>x</script>"}, {"title", "Fake"}};
    EXPECT_EQ(templates.page("page", "Real", vars),
              "<title>Real</title><p>&lt;script&gt;x&lt;/script&gt; Fake</p>");
    fs::remove_all(directory);
}

TEST(Errors, FaultsMapToTheirStatus) {
    EXPECT_EQ(fault_response(Fault::unavailable, "x").status, 503u);
    EXPECT_EQ(fault_response(Fault::timeout, "x").status, 503u);
    EXPECT_EQ(fault_response(Fault::overloaded, "x").status, 503u);
    EXPECT_EQ(fault_response(Fault::internal, "x").status, 500u);
    const auto body = nlohmann::json::parse(error_response(409, "sold_out", "gone").body);
    EXPECT_EQ(body["error"], "sold_out");
    EXPECT_EQ(body["detail"], "gone");
}

TEST(Urls, ParsesHttpUrlsOnly) {
    const auto url = parse_http_url("http://127.0.0.1:8000/payments/webhook");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->host, "127.0.0.1");
    EXPECT_EQ(url->port, 8000);
    EXPECT_EQ(url->target, "/payments/webhook");
    EXPECT_EQ(parse_http_url("http://example.com")->port, 80);
    EXPECT_FALSE(parse_http_url("https://example.com/"));
    EXPECT_FALSE(parse_http_url("http://:80/"));
    EXPECT_FALSE(parse_http_url("http://h:99999/"));
}

// A client names an IPv6 server in brackets: a server reads a bare address's last group as
// its port, and refuses it.
TEST(Urls, HostFieldBracketsAnIpv6Address) {
    EXPECT_EQ(host_field("127.0.0.1", 8000), "127.0.0.1:8000");
    EXPECT_EQ(host_field("shop.example.com", 80), "shop.example.com:80");
    EXPECT_EQ(host_field("::1", 8000), "[::1]:8000");
    EXPECT_EQ(host_field("[::1]", 8000), "[::1]:8000");
    const auto url = parse_http_url("http://[::1]:8000/x");
    ASSERT_TRUE(url);
    EXPECT_EQ(host_field(url->host, url->port), "[::1]:8000");
}

TEST(StaticFiles, ContentTypesFollowTheExtension) {
    EXPECT_EQ(content_type_for("style.css"), "text/css; charset=utf-8");
    EXPECT_EQ(content_type_for("app.js"), "text/javascript; charset=utf-8");
    EXPECT_EQ(content_type_for("logo.svg"), "image/svg+xml");
    EXPECT_EQ(content_type_for("blob"), "application/octet-stream");
}

}  // namespace
}  // namespace tigerfans::http

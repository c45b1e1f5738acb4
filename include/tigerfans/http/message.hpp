// The server's own request and response types. Beast stays inside http/server.cpp and
// http/client.cpp; handlers, flows and tests see only these.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tigerfans::http {

enum class Method { get, head, post, put, patch, delete_, options, other };

std::string_view method_name(Method method);
Method parse_method(std::string_view name);

using Headers = std::vector<std::pair<std::string, std::string>>;

// On an answer that repeats what an earlier request was answered: a checkout's stored answer
// for its Idempotency-Key, a payment form sent again.
inline constexpr std::string_view idempotent_replay_header = "Idempotent-Replayed";

// Case-insensitive lookup; empty when absent.
std::string_view find_header(const Headers& headers, std::string_view name);
// The same, telling an absent header (nullopt) from an empty one.
std::optional<std::string_view> lookup_header(const Headers& headers, std::string_view name);
// How many fields carry `name` (case-insensitive): a field that must be single can be refused.
std::size_t count_headers(const Headers& headers, std::string_view name);

struct Request {
    Method method = Method::get;
    std::string target;  // As received: path and query.
    std::string path;    // Percent-decoded path without the query.
    std::string query;   // Raw query string without '?'.
    Headers headers;     // Names as received.
    std::string body;
    std::string remote_address;
    // Filled by the router from `{name}` segments of the matched pattern.
    std::vector<std::pair<std::string, std::string>> path_params;

    std::string_view header(std::string_view name) const { return find_header(headers, name); }
    std::string_view path_param(std::string_view name) const;
    std::optional<std::string> query_param(std::string_view name) const;
    // `?limit=`: `fallback` when absent, a whole number from 1 clamped to `max`, nullopt when
    // it is anything else, given twice, or the query does not parse (the caller answers 400).
    std::optional<std::size_t> limit_param(std::size_t fallback, std::size_t max) const;
};

struct Response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    Headers headers;  // Extra headers: Location, Set-Cookie, Cache-Control, ...
    bool close = false;

    static Response json(unsigned status, std::string body);
    static Response html(unsigned status, std::string body);
    static Response text(unsigned status, std::string body, std::string content_type);
    // 303 unless told otherwise.
    static Response redirect(std::string location, unsigned status = 303);
    Response& with_header(std::string name, std::string value);
};

// Percent-decoding of a path ('+' kept) or of a form/query value ('+' is a space).
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);
// The same into `out` (its capacity is reused); false on a malformed escape.
bool percent_decode_to(std::string_view text, bool plus_is_space, std::string& out);
std::string percent_encode(std::string_view text);

// Parses `a=1&b=x%20y` (application/x-www-form-urlencoded and query strings). Returns nullopt
// on malformed escapes.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view text);
std::optional<std::string> form_value(std::string_view text, std::string_view name);

// Browsers send Origin with every cross-site POST: a request whose Origin names another host
// than its Host is cross-site (CSRF) and is refused by the routes that change state for a
// browser's cookie. Without Origin (other clients) a request passes.
bool same_origin(const Request& request);

// Whether a Host value, as the request parser accepted it (a plain host and optional port),
// names this machine's loopback: `localhost` or a name under it, an IPv4 address in
// 127.0.0.0/8, or `[::1]`. An empty value (a request without an authority) counts too. No
// name that resolves through DNS does, so a page whose name an attacker points at 127.0.0.1
// (DNS rebinding) never qualifies.
bool names_loopback_host(std::string_view authority);

// The value of cookie `name` in a Cookie header (`a=1; b=2`), if present.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

// Calls `visit` with the value of each cookie `name` the request carries, in every Cookie field
// and in order, until it answers true; whether one did. A browser sends two cookies of one name
// when they differ in path or domain, and the first need not be the good one. Only the first
// four values are visited: a request packed with more is not worth an HMAC each.
bool find_cookie(const Request& request, std::string_view name,
                 const std::function<bool(std::string_view)>& visit);

// How a cookie the server sets may travel: HttpOnly keeps it from the page's scripts, Secure
// from plain HTTP (for a server whose pages a TLS proxy serves).
struct CookieFlags {
    bool http_only = false;
    bool secure = false;
};

// A Set-Cookie value: `name`=`value` for the whole site (Path=/), kept `max_age_s` seconds (0
// or less: removed now), SameSite=Lax, with `flags`.
std::string set_cookie(std::string_view name, std::string_view value, std::int64_t max_age_s,
                       CookieFlags flags);

}  // namespace tigerfans::http

// Request and response helpers: header lookup, percent-coding, form and query parsing.
#include "tigerfans/http/message.hpp"

#include <strings.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/loopback.hpp"

namespace tigerfans::http {

namespace {
int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::string_view method_name(Method method) {
    switch (method) {
        case Method::get: return "GET";
        case Method::head: return "HEAD";
        case Method::post: return "POST";
        case Method::put: return "PUT";
        case Method::patch: return "PATCH";
        case Method::delete_: return "DELETE";
        case Method::options: return "OPTIONS";
        case Method::other: return "OTHER";
    }
    return "OTHER";
}

Method parse_method(std::string_view name) {
    for (Method m : {Method::get, Method::head, Method::post, Method::put, Method::patch,
                     Method::delete_, Method::options}) {
        if (name == method_name(m)) return m;
    }
    return Method::other;
}

std::string_view find_header(const Headers& headers, std::string_view name) {
    return lookup_header(headers, name).value_or(std::string_view());
}

namespace {
bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), b.size()) == 0;
}
}  // namespace

std::optional<std::string_view> lookup_header(const Headers& headers, std::string_view name) {
    for (const auto& [key, value] : headers) {
        if (same_name(key, name)) return std::string_view(value);
    }
    return std::nullopt;
}

std::size_t count_headers(const Headers& headers, std::string_view name) {
    return static_cast<std::size_t>(
        std::count_if(headers.begin(), headers.end(),
                      [name](const auto& field) { return same_name(field.first, name); }));
}

std::string_view Request::path_param(std::string_view name) const {
    for (const auto& [key, value] : path_params) {
        if (key == name) return value;
    }
    return {};
}

std::optional<std::string> Request::query_param(std::string_view name) const {
    return form_value(query, name);
}

std::optional<std::size_t> Request::limit_param(std::size_t fallback, std::size_t max) const {
    TF_ASSERT(fallback >= 1 && fallback <= max);
    // A query that does not parse, or names the limit twice, says nothing certain of it.
    const auto fields = parse_form(query);
    if (!fields) return std::nullopt;
    const std::string* text = nullptr;
    for (const auto& [key, value] : *fields) {
        if (key != "limit") continue;
        if (text != nullptr) return std::nullopt;
        text = &value;
    }
    if (text == nullptr) return fallback;
    const bool digits =
        !text->empty() && text->size() <= 18 &&
        std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) return std::nullopt;
    const std::uint64_t value = std::stoull(*text);
    if (value == 0) return std::nullopt;
    return static_cast<std::size_t>(std::min<std::uint64_t>(value, max));
}

Response Response::json(unsigned status, std::string body) {
    return Response{status, "application/json", std::move(body), {}, false};
}

// Pages come only from this site's own files: no framing (clickjacking on the admin and
// payment pages), no content-type guessing, no foreign scripts, no referrer beyond the site.
Response Response::html(unsigned status, std::string body) {
    Response response{status, "text/html; charset=utf-8", std::move(body), {}, false};
    response.headers = {
        {"Content-Security-Policy",
         "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
         "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
        {"X-Frame-Options", "DENY"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "same-origin"},
    };
    return response;
}

Response Response::text(unsigned status, std::string body, std::string content_type) {
    return Response{status, std::move(content_type), std::move(body), {}, false};
}

Response Response::redirect(std::string location, unsigned status) {
    Response response{status, "text/plain; charset=utf-8", {}, {}, false};
    response.headers.emplace_back("Location", std::move(location));
    return response;
}

Response& Response::with_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    if (!percent_decode_to(text, plus_is_space, out)) return std::nullopt;
    return out;
}

bool percent_decode_to(std::string_view text, bool plus_is_space, std::string& out) {
    out.clear();
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); i++) {
        const char c = text[i];
        if (c == '+' && plus_is_space) {
            out += ' ';
        } else if (c == '%') {
            if (i + 2 >= text.size()) return false;
            const int high = hex_digit(text[i + 1]);
            const int low = hex_digit(text[i + 2]);
            if (high < 0 || low < 0) return false;
            out += static_cast<char>(high * 16 + low);
            i += 2;
        } else {
            out += c;
        }
    }
    return true;
}

std::string percent_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (plain) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> fields;
    while (!text.empty()) {
        const std::size_t amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
        if (pair.empty()) continue;
        const std::size_t eq = pair.find('=');
        auto name = percent_decode(pair.substr(0, eq), true);
        auto value = percent_decode(
            eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
        if (!name || !value) return std::nullopt;
        fields.emplace_back(std::move(*name), std::move(*value));
    }
    return fields;
}

std::optional<std::string> form_value(std::string_view text, std::string_view name) {
    auto fields = parse_form(text);
    if (!fields) return std::nullopt;
    for (auto& [key, value] : *fields) {
        if (key == name) return std::move(value);
    }
    return std::nullopt;
}

namespace {
// Calls `visit` with each value of cookie `name` in one Cookie header, until it answers true.
bool find_cookie_in(std::string_view cookie_header, std::string_view name,
                    const std::function<bool(std::string_view)>& visit) {
    const auto trim = [](std::string_view text) {
        while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
        while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
        return text;
    };
    while (!cookie_header.empty()) {
        const std::size_t semicolon = cookie_header.find(';');
        const std::string_view pair = trim(cookie_header.substr(0, semicolon));
        cookie_header = semicolon == std::string_view::npos ? std::string_view{}
                                                            : cookie_header.substr(semicolon + 1);
        const std::size_t eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name &&
            visit(pair.substr(eq + 1))) {
            return true;
        }
    }
    return false;
}
}  // namespace

std::string set_cookie(std::string_view name, std::string_view value, std::int64_t max_age_s,
                       CookieFlags flags) {
    std::string cookie;
    cookie.reserve(name.size() + value.size() + 64);
    cookie.append(name).append("=").append(value).append("; Path=/; Max-Age=");
    cookie += std::to_string(std::max<std::int64_t>(max_age_s, 0));
    if (flags.http_only) cookie += "; HttpOnly";
    if (flags.secure) cookie += "; Secure";
    cookie += "; SameSite=Lax";
    return cookie;
}

std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name) {
    std::optional<std::string> found;
    find_cookie_in(cookie_header, name, [&found](std::string_view value) {
        found.emplace(value);
        return true;
    });
    return found;
}

bool find_cookie(const Request& request, std::string_view name,
                 const std::function<bool(std::string_view)>& visit) {
    // A browser sends a few at most; a request packed with values of one name (each costing
    // its visitor an HMAC) is read no further than this.
    constexpr int values_max = 4;
    int visited = 0;
    bool found = false;
    const auto bounded = [&](std::string_view value) {
        if (visited == values_max) return true;  // Ends the search, found or not.
        visited++;
        found = visit(value);
        return found;
    };
    for (const auto& [key, value] : request.headers) {
        if (same_name(key, "Cookie") && find_cookie_in(value, name, bounded)) return found;
    }
    return false;
}

bool names_loopback_host(std::string_view authority) {
    if (authority.empty()) return true;
    if (authority.starts_with('[')) {
        const std::size_t end = authority.find(']');
        return end != std::string_view::npos && authority.substr(1, end - 1) == "::1";
    }
    std::string_view host = authority.substr(0, authority.find(':'));
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // A fully qualified name.
    constexpr std::string_view localhost = "localhost";
    if (same_name(host, localhost)) return true;
    if (host.size() > localhost.size() + 1 &&
        same_name(host.substr(host.size() - localhost.size() - 1), ".localhost")) {
        return true;
    }
    return is_loopback_ipv4(host);
}

bool same_origin(const Request& request) {
    std::string_view origin = request.header("Origin");
    if (origin.empty()) return true;
    for (std::string_view scheme : {"http://", "https://"}) {
        if (origin.starts_with(scheme)) origin.remove_prefix(scheme.size());
    }
    // Host names compare without regard to case (RFC 9110 §4.2.3).
    const std::string_view host = request.header("Host");
    return !host.empty() && same_name(origin, host);
}

}  // namespace tigerfans::http

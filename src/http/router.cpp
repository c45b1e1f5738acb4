// Route matching by path segments; 404 and 405 decided here, exceptions contained here.
#include "tigerfans/http/router.hpp"

#include <spdlog/spdlog.h>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/http/errors.hpp"

namespace tigerfans::http {

namespace {
std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t start = 1;  // Paths start with '/'.
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        segments.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return segments;
}

bool is_capture(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}
}  // namespace

Handler not_stored(Handler handler) {
    return [handler = std::move(handler)](Request& request) -> boost::asio::awaitable<Response> {
        Response response = co_await handler(request);
        response.with_header("Cache-Control", "no-store");
        co_return response;
    };
}

void Router::add(Method method, std::string pattern, Handler handler) {
    TF_ASSERT(!pattern.empty() && pattern.front() == '/');
    std::vector<std::string> segments;
    std::size_t captures = 0;
    for (std::string_view segment : split_path(pattern)) {
        segments.emplace_back(segment);
        if (is_capture(segment)) captures++;
    }
    routes_.push_back(Entry{method, std::move(segments), std::move(handler), captures});
}

void Router::add(Routes routes) {
    for (Route& route : routes)
        add(route.method, std::move(route.pattern), std::move(route.handler));
}

bool Router::Entry::fits(const std::vector<std::string_view>& path) const {
    if (segments.size() != path.size()) return false;
    for (std::size_t i = 0; i < path.size(); i++) {
        const bool fits = is_capture(segments[i]) ? !path[i].empty() : segments[i] == path[i];
        if (!fits) return false;
    }
    return true;
}

void Router::Entry::capture(const std::vector<std::string_view>& path, Request& request) const {
    request.path_params.clear();
    for (std::size_t i = 0; i < path.size(); i++) {
        const std::string& want = segments[i];
        if (is_capture(want))
            request.path_params.emplace_back(want.substr(1, want.size() - 2), path[i]);
    }
}

Router::Match Router::match(Request& request) const {
    Match result;
    if (request.path.empty() || request.path.front() != '/') return result;
    const std::vector<std::string_view> segments = split_path(request.path);
    // Only the most specific routes for the path count: a capture gives way to a literal.
    std::size_t fewest = SIZE_MAX;
    for (const Entry& route : routes_) {
        if (route.captures < fewest && route.fits(segments)) fewest = route.captures;
    }
    if (fewest == SIZE_MAX) return result;
    result.path_known = true;
    // The first of this method wins; the methods routed for the path (Allow) matter only when
    // none is this one.
    for (const Entry& route : routes_) {
        const bool method_fits = route.method == request.method ||
                                 (request.method == Method::head && route.method == Method::get);
        if (!method_fits || route.captures != fewest || !route.fits(segments)) continue;
        route.capture(segments, request);
        result.handler = &route.handler;
        return result;
    }
    for (const Entry& route : routes_) {
        if (route.captures != fewest || !route.fits(segments)) continue;
        if (!result.allow.empty()) result.allow += ", ";
        result.allow += method_name(route.method);
    }
    return result;
}

boost::asio::awaitable<Response> Router::handle(Request& request) const {
    const Match found = match(request);
    if (found.handler == nullptr) {
        if (!found.path_known) co_return not_found("no route for " + request.path);
        // A method this server does not know is not named back (it would read "OTHER").
        const std::string method = request.method == Method::other
                                       ? std::string("this method")
                                       : std::string(method_name(request.method));
        Response response = error_response(405, "method_not_allowed",
                                           method + " is not allowed on " + request.path);
        response.headers.emplace_back("Allow", found.allow);
        co_return response;
    }
    try {
        co_return co_await (*found.handler)(request);
    } catch (const std::exception& error) {
        spdlog::error("handler for {} {} threw: {}", method_name(request.method), request.path,
                      error.what());
    }
    co_return error_response(500, "internal_error", "the request could not be handled");
}

}  // namespace tigerfans::http

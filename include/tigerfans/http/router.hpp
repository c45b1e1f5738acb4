// Maps method and path to a handler. Patterns are literal segments and `{name}` captures, one
// segment each. A known path with another method answers 405 (with Allow); anything else 404.
// Each module lists its routes in one table (a function returning `Routes`); the app adds the
// tables.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tigerfans/http/message.hpp"

namespace tigerfans::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

// One line of a module's route table.
struct Route {
    Method method;
    std::string pattern;
    Handler handler;
};
using Routes = std::vector<Route>;

// The handler that calls `function(context, request)`: how a table binds its handlers to what
// they work with. `context` is copied (pass a struct of references, or std::ref).
template <typename Context, typename Function>
Handler bind(Context context, Function function) {
    return [context, function](Request& request) { return function(context, request); };
}

// `handler` with every answer marked for no cache to keep (Cache-Control: no-store), a browser's
// included: for answers that carry people's data or need a login.
Handler not_stored(Handler handler);

class Router {
public:
    void add(Method method, std::string pattern, Handler handler);
    // Every route of one table, in its order. A path is served by its most specific routes,
    // those with the fewest captures (a literal segment beats a capture: GET /api/queue/join
    // is a 405 beside POST /api/queue/join, not GET /api/queue/{id}); among them the first of
    // the request's method wins.
    void add(Routes routes);
    void get(std::string pattern, Handler handler) {
        add(Method::get, std::move(pattern), std::move(handler));
    }
    void post(std::string pattern, Handler handler) {
        add(Method::post, std::move(pattern), std::move(handler));
    }

    // Never throws: a handler's exception becomes a 500 with a JSON body.
    boost::asio::awaitable<Response> handle(Request& request) const;

    struct Match {
        const Handler* handler = nullptr;  // Null: no route for this method.
        bool path_known = false;           // Some method is routed for this path.
        std::string allow;                 // Methods routed for this path, for 405's Allow.
    };
    // Exposed for unit tests; fills request.path_params on a match.
    Match match(Request& request) const;

private:
    struct Entry {
        Method method;
        std::vector<std::string> segments;  // "{x}" marks a capture.
        Handler handler;
        std::size_t captures = 0;  // How many of the segments are captures.

        // The path's segments match this pattern (whatever the method).
        bool fits(const std::vector<std::string_view>& path) const;
        // Sets the request's path parameters from a path that fits.
        void capture(const std::vector<std::string_view>& path, Request& request) const;
    };
    std::vector<Entry> routes_;
};

}  // namespace tigerfans::http

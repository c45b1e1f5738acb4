// Maps method and path to a handler. Patterns are literal segments and `{name}` captures, one
// segment each. A known path with another method answers 405 (with Allow); anything else 404.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <vector>

#include "tigerfans/http/message.hpp"

namespace tigerfans::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

class Router {
public:
    void add(Method method, std::string pattern, Handler handler);
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
    struct Route {
        Method method;
        std::vector<std::string> segments;  // "{x}" marks a capture.
        Handler handler;
    };
    std::vector<Route> routes_;
};

}  // namespace tigerfans::http

// JSON error bodies and the fault-to-status table.
#include "tigerfans/http/errors.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace tigerfans::http {

// The detail may quote the request (a path, a parser message): bytes that are not UTF-8 become
// U+FFFD instead of making dump() throw, which would leave the request unanswered.
Response error_response(unsigned status, std::string_view error, std::string_view detail) {
    nlohmann::json body = {{"error", error}, {"detail", detail}};
    constexpr auto replace_invalid = nlohmann::json::error_handler_t::replace;
    return Response::json(status, body.dump(-1, ' ', false, replace_invalid));
}

Response fault_response(Fault fault, std::string_view what) {
    const std::string detail = std::string(what) + ": " + std::string(fault_name(fault));
    switch (fault) {
        case Fault::unavailable:
        case Fault::timeout:
        case Fault::overloaded:
        case Fault::shutting_down: {
            Response response = error_response(503, "service_unavailable", detail);
            response.headers.emplace_back("Retry-After", "1");
            return response;
        }
        case Fault::internal: return error_response(500, "internal_error", detail);
    }
    return error_response(500, "internal_error", detail);
}

}  // namespace tigerfans::http

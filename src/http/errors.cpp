// JSON error bodies and the fault-to-status table.
#include "tigerfans/http/errors.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace tigerfans::http {

Response error_response(unsigned status, std::string_view error, std::string_view detail) {
    nlohmann::json body = {{"error", error}, {"detail", detail}};
    return Response::json(status, body.dump());
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

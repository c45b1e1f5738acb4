// The one table that turns failures into HTTP answers: every error is JSON
// {"error": "...", "detail": "..."} with the right status.
#pragma once

#include <string_view>

#include "tigerfans/core/result.hpp"
#include "tigerfans/http/message.hpp"

namespace tigerfans::http {

Response error_response(unsigned status, std::string_view error, std::string_view detail);

// 503 for the transient faults (retry later), 500 for internal ones.
Response fault_response(Fault fault, std::string_view what);

inline Response bad_request(std::string_view detail) {
    return error_response(400, "bad_request", detail);
}
inline Response not_found(std::string_view detail) {
    return error_response(404, "not_found", detail);
}
inline Response unauthorized(std::string_view detail) {
    return error_response(401, "unauthorized", detail);
}

}  // namespace tigerfans::http

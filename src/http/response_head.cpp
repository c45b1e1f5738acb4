// Hand-formatted response heads (see response_head.hpp).
#include "http/response_head.hpp"

#include <strings.h>

#include <ostream>  // Beast's status.hpp needs it and does not include it.

#include <boost/beast/http/status.hpp>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/decimal.hpp"

namespace tigerfans::http {

namespace {

bool is_framing_header(std::string_view name) {
    const auto equals = [&](std::string_view other) {
        return name.size() == other.size() &&
               strncasecmp(name.data(), other.data(), name.size()) == 0;
    };
    return equals("Content-Length") || equals("Connection") || equals("Transfer-Encoding");
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

bool is_bodiless(unsigned status) { return status < 200 || status == 204 || status == 304; }

void format_response_head(std::string& out, const Response& response, bool keep_alive) {
    TF_ASSERT(response.status >= 100 && response.status <= 999);
    const auto reason = boost::beast::http::obsolete_reason(
        static_cast<boost::beast::http::status>(response.status));
    out.assign("HTTP/1.1 ");
    append_decimal(out, response.status);
    out.append(" ").append(reason.data(), reason.size()).append("\r\n");
    append_header(out, "Server", "tigerfans");
    if (!response.content_type.empty()) append_header(out, "Content-Type", response.content_type);
    for (const auto& [name, value] : response.headers) {
        TF_ASSERT(!is_framing_header(name) && "the server sets framing headers itself");
        append_header(out, name, value);
    }
    // RFC 9110 §8.6: a 1xx or 204 has no Content-Length; a 304's would have to be the length of
    // the 200 it stands for, which is not at hand, so it has none either.
    if (!is_bodiless(response.status)) {
        out.append("Content-Length: ");
        append_decimal(out, response.body.size());
        out.append("\r\n");
    }
    if (!keep_alive) out.append("Connection: close\r\n");
    out.append("\r\n");
}

}  // namespace tigerfans::http

// A response's status line and header block, formatted by hand into a reused string so that
// the server writes head and body with one gather write instead of running Beast's generic
// serializer. The bytes are the ones that serializer produced: "HTTP/1.1 <code> <Beast's
// reason phrase>", Server, Content-Type (when set), the extra headers in their order,
// Content-Length of the body (also for HEAD, which sends no body; never for a status that has
// no body), and Connection: close when the connection closes after this response.
#pragma once

#include <string>

#include "tigerfans/http/message.hpp"

namespace tigerfans::http {

// A status whose response never has a body (1xx, 204, 304): the server sends no body and no
// Content-Length with it, whatever the Response holds.
bool is_bodiless(unsigned status);

// Replaces `out` with the head of `response`; `keep_alive` false adds Connection: close.
void format_response_head(std::string& out, const Response& response, bool keep_alive);

}  // namespace tigerfans::http

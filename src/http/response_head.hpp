// A response's status line and header block, formatted by hand into a reused string so that
// the server writes head and body with one gather write instead of running Beast's generic
// serializer. The bytes are the ones that serializer produced: "HTTP/1.1 <code> <Beast's
// reason phrase>", Server, Content-Type (when set), the extra headers in their order,
// Content-Length of the body (also for HEAD, which sends no body), and Connection: close when
// the connection closes after this response.
#pragma once

#include <string>

#include "tigerfans/http/message.hpp"

namespace tigerfans::http {

// Replaces `out` with the head of `response`; `keep_alive` false adds Connection: close.
void format_response_head(std::string& out, const Response& response, bool keep_alive);

}  // namespace tigerfans::http

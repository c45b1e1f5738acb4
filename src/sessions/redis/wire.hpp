// A command as Redis reads it off the wire (RESP: an array of bulk strings), written by the
// client itself so that hiredis only queues the bytes. hiredis' own formatter builds each
// length with a printf-like routine, which showed in the server's profile under load.
#pragma once

#include <string>
#include <vector>

namespace tigerfans::sessions::redis {

// Appends "*<count>\r\n" and, per argument, "$<length>\r\n<bytes>\r\n" to `out`. Binary safe.
void append_command(const std::vector<std::string>& arguments, std::string& out);

}  // namespace tigerfans::sessions::redis

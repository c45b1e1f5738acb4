// Commands in Redis' wire format.
#include "sessions/redis/wire.hpp"

#include <charconv>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::sessions::redis {

namespace {
void append_header(char marker, std::size_t count, std::string& out) {
    char digits[24];
    const auto [end, error] = std::to_chars(digits, digits + sizeof(digits), count);
    TF_ASSERT(error == std::errc());
    out.push_back(marker);
    out.append(digits, end);
    out.append("\r\n", 2);
}
}  // namespace

void append_command(const std::vector<std::string>& arguments, std::string& out) {
    TF_ASSERT(!arguments.empty());  // A command has at least its name.
    append_header('*', arguments.size(), out);
    for (const std::string& argument : arguments) {
        append_header('$', argument.size(), out);
        out.append(argument);
        out.append("\r\n", 2);
    }
}

}  // namespace tigerfans::sessions::redis

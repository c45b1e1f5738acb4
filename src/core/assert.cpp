// The reporting half of the always-on assertions (core/assert.hpp): one line, then abort.
#include "tigerfans/core/assert.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tigerfans::assert_detail {

namespace {
// write(2) straight to the descriptor: no stream buffer to flush before abort, and the line
// goes out in one call, whole even when other threads write at the same time.
void write_stderr(std::string_view text) {
    while (!text.empty()) {
        const ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
        if (written <= 0) return;
        text.remove_prefix(static_cast<std::size_t>(written));
    }
}

// Keeps the report on one line whatever the values hold.
void append_one_line(std::string& line, std::string_view text) {
    for (const char c : text) {
        if (c == '\n') {
            line += "\\n";
        } else if (c == '\r') {
            line += "\\r";
        } else {
            line += c;
        }
    }
}
}  // namespace

void fail(const char* expression, const char* file, int line, std::string_view detail) noexcept {
    std::string text;
    text.reserve(std::strlen(file) + std::strlen(expression) + detail.size() + 48);
    text.append(file).append(":").append(std::to_string(line)).append(": assertion failed: ");
    append_one_line(text, expression);
    if (!detail.empty()) {
        text += " (";
        append_one_line(text, detail);
        text += ")";
    }
    text += "\n";
    write_stderr(text);
    std::abort();
}

std::string text_128(unsigned_128 value) {
    const auto high = static_cast<unsigned long long>(value >> 64);
    const auto low = static_cast<unsigned long long>(value);
    if (high == 0) return std::to_string(low);
    char text[2 + 32 + 1];
    std::snprintf(text, sizeof(text), "0x%016llx%016llx", high, low);
    return text;
}

}  // namespace tigerfans::assert_detail

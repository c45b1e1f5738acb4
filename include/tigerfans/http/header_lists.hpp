// Header values that are lists (RFC 9110 §5.6.1): members split at a separator, each without
// the spaces and tabs around it, as If-None-Match and Accept-Encoding carry them.
#pragma once

#include <string_view>

namespace tigerfans::http {

// `text` without leading and trailing spaces and tabs.
inline std::string_view trim_whitespace(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// Calls `visit` with each member of `list` split at `separator`, trimmed, empty ones included;
// stops early when `visit` returns true, and says whether it did.
template <typename Visit>
bool any_member(std::string_view list, char separator, Visit visit) {
    while (true) {
        const auto end = list.find(separator);
        if (visit(trim_whitespace(list.substr(0, end)))) return true;
        if (end == std::string_view::npos) return false;
        list.remove_prefix(end + 1);
    }
}

}  // namespace tigerfans::http

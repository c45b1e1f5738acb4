// Loopback addresses as text.
#include "tigerfans/core/loopback.hpp"

#include <algorithm>

namespace tigerfans {

// Each part a number from 0 to 255 without a leading zero: what inet_pton reads as an address.
// Anything else (127.0.0.300, 127.0.0.08) a resolver would hand to DNS as a name.
bool is_loopback_ipv4(std::string_view text) {
    if (!text.starts_with("127.")) return false;
    int parts = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t dot = std::min(text.find('.', start), text.size());
        const std::string_view part = text.substr(start, dot - start);
        if (part.empty() || part.size() > 3 || (part.size() > 1 && part.front() == '0')) {
            return false;
        }
        int value = 0;
        for (const char c : part) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + (c - '0');
        }
        if (value > 255) return false;
        parts++;
        start = dot + 1;
    }
    return parts == 4;
}

}  // namespace tigerfans

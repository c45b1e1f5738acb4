// Loopback addresses as text.
#include "tigerfans/core/loopback.hpp"

namespace tigerfans {

bool is_loopback_ipv4(std::string_view text) {
    if (!text.starts_with("127.")) return false;
    int parts = 1;
    std::size_t digits = 0;
    for (const char c : text) {
        if (c == '.') {
            if (digits == 0) return false;
            parts++;
            digits = 0;
        } else if (c < '0' || c > '9' || ++digits > 3) {
            return false;
        }
    }
    return parts == 4 && digits > 0;
}

}  // namespace tigerfans

// Loopback addresses as text: what a server on this machine may take for itself alone.
#pragma once

#include <string_view>

namespace tigerfans {

// An IPv4 address in 127.0.0.0/8 written as four numbers from 0 to 255 without leading zeros
// ("127.0.0.1"), the form browsers send, servers bind and resolvers read as an address. A name
// that only starts so ("127.0.0.1.example", "127.0.0.300") resolves through DNS, and other
// spellings ("127.1") are refused.
bool is_loopback_ipv4(std::string_view text);

}  // namespace tigerfans

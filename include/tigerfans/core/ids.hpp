// Identifiers: time-based 128-bit ids (TigerBeetle's recommended layout), ids derived from a
// pending transfer id (so retries of post, void and late booking meet "exists" instead of acting
// twice), and random tokens for payment sessions, events and ticket codes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tigerfans/core/u128.hpp"

namespace tigerfans {

// High 48 bits: Unix time in milliseconds; low 80 bits: random. Strictly increasing within one
// generator: when the clock stands still or goes back, the random part is incremented instead.
class IdGenerator {
public:
    IdGenerator();
    u128 next();

private:
    std::uint64_t last_ms_ = 0;
    u128 last_random_ = 0;
};

// What a derived id is for. The kind lands in the top four bits, which are zero in every
// time-based id until the year 2527 (2^44 ms after 1970), so derived ids never collide with
// generated ones.
enum class Derivation : std::uint8_t { post = 1, void_ = 2, late_booking = 3 };
inline constexpr int derivation_shift = 124;

constexpr u128 derive_id(u128 base_id, Derivation kind) {
    constexpr int kind_shift = derivation_shift;
    return (base_id & ((u128{1} << kind_shift) - 1)) |
           (u128{static_cast<std::uint8_t>(kind)} << kind_shift);
}

// Whether `id` was derived with `kind`.
constexpr bool is_derived(u128 id, Derivation kind) {
    return (id >> derivation_shift) == static_cast<std::uint8_t>(kind);
}

// Cryptographically random bytes from the kernel, buffered.
void random_fill(void* buffer, std::size_t size);
u128 random_u128();

// `TCK-` and ten characters of an unambiguous upper-case alphabet (no 0/O, 1/I).
std::string new_ticket_code();
// An order id: 32 lower-case hex digits of `id`.
std::string order_id_from(u128 id);
// A new order's id: 128 random bits. The id is the capability to read the order and its
// ticket, so it must not be guessable from a neighbour's. The ledger keeps it as a number
// (user_data_128); everything else as its text.
u128 new_order_id();
// The number behind an order id's text; nullopt when it is not 32 hex digits.
std::optional<u128> parse_order_id(std::string_view order_id);
// A payment session id: "mock_" and 32 random hex digits (unguessable: it authorises paying).
std::string new_payment_session_id();
// A webhook event's idempotency key: "evt_" and 32 random hex digits.
std::string new_event_key();
// A webhook delivery's lease token at the idempotency gate: "lease_" and 32 random hex digits.
std::string new_lease_token();

}  // namespace tigerfans

// Queue entries and their order. An entry is a 32-hex-digit random id and a key, one integer
// below 2^53 that orders the whole queue (docs/ARCHITECTURE.md §3, waiting room):
//
//   bit 52      the band: 0 for a pre-queue join, 1 for a join once the sale is open
//   bits 0-51   in band 0, the raffle draw: 52 uniformly random bits taken at join time;
//               in band 1, the join's sequence number, counted by the store (1, 2, 3, ...)
//
// Every pre-queue entry thus stands before every later one; among pre-queue entries the draw
// decides (a uniformly random order, whatever the order of the joins), among later ones the
// sequence (first come, first served). Every key is an integer below 2^53, so a Redis sorted
// set, whose scores are doubles, holds it exactly, and PostgreSQL holds it in a bigint. Two
// equal draws (a chance of 2^-52 for any two entries) are ordered by entry id, which is random
// too: the queue's order is (key, entry id), what a sorted set gives for equal scores (its
// members compared as bytes) and what a PostgreSQL index on (key, entry_id COLLATE "C") gives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tigerfans/queue/sale.hpp"

namespace tigerfans::queue {

inline constexpr int key_value_bits = 52;
inline constexpr std::uint64_t sale_band_bit = std::uint64_t{1} << key_value_bits;
inline constexpr std::uint64_t key_value_max = sale_band_bit - 1;
inline constexpr std::uint64_t key_max = sale_band_bit | key_value_max;
static_assert(key_max < (std::uint64_t{1} << 53), "a key must be exact as a double");

// A pre-queue join's key: the low 52 bits of `random64` as its draw.
std::uint64_t raffle_key(std::uint64_t random64);
// A join's key once the sale is open: `sequence` (at least 1, at most key_value_max) in band 1.
std::uint64_t arrival_key(std::uint64_t sequence);
// The phase a key was given in: prequeue (band 0) or sale (band 1).
Phase key_phase(std::uint64_t key);
// The draw or the sequence number.
std::uint64_t key_value(std::uint64_t key);

// The key as a sorted set's score, exactly.
double key_score(std::uint64_t key);
// The key a score holds; nullopt unless it is a whole number from 0 to key_max.
std::optional<std::uint64_t> key_from_score(double score);
// A score as Redis prints it ("4503599627370497", "4.503599627370497e+15"); nullopt unless it
// holds a key exactly.
std::optional<std::uint64_t> key_from_score_text(std::string_view text);

// 64 bits from the kernel's cryptographic random source (core/ids.hpp random_fill): the
// server's raffle draws. Tests give raffle_key their own seeded numbers instead.
std::uint64_t secure_random64();

// A new entry id: 32 lower-case hex digits of 128 random bits (it is the capability to see
// the entry's place and to be admitted, so it must not be guessable).
std::string new_entry_id();
// Whether `text` is an entry id: exactly 32 lower-case hex digits.
bool is_entry_id(std::string_view text);

// An entry's place: the queue is ordered by key, then by entry id.
struct Place {
    std::uint64_t key = 0;
    std::string entry_id;
};
bool queued_before(const Place& a, const Place& b);

}  // namespace tigerfans::queue

// Which seats are free, held or sold, two bits a seat: the form the seat map keeps and sends
// (base64 in its body, seat_map.hpp) and the form best-available searches. Pure: no I/O, no
// clock.
//
// Seat i lives in byte i / 4 at bits 2 * (i % 4) and 2 * (i % 4) + 1 (the lowest bits first):
// 0 free, 1 held, 2 sold. A venue of 50,000 seats is 12,500 bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tigerfans/seating/venue.hpp"

namespace tigerfans::seating {

enum class SeatState : std::uint8_t { free = 0, held = 1, sold = 2 };

struct SeatCounts {
    std::uint32_t free = 0;
    std::uint32_t held = 0;
    std::uint32_t sold = 0;
};

class SeatStates {
public:
    explicit SeatStates(std::uint32_t seat_count);

    std::uint32_t seat_count() const { return seat_count_; }
    SeatState get(SeatId seat) const;
    void set(SeatId seat, SeatState state);
    std::uint32_t count(SeatState state) const;
    SeatCounts counts() const;  // All three in one pass.
    // The packed bytes, as the map's encoding above describes.
    std::string_view bytes() const { return bytes_; }

    friend bool operator==(const SeatStates& a, const SeatStates& b) = default;

private:
    std::uint32_t seat_count_;
    std::string bytes_;
};

// Where to look for `count` seats together: rows of `category` nearest the stage first (the
// distance of each row's nearest seat), computed once per venue.
class BestAvailable {
public:
    explicit BestAvailable(const Venue& venue);
    explicit BestAvailable(Venue&&) = delete;  // It keeps a reference: no temporaries.

    // `count` free seats next to each other in one row of `category`, in the nearest row that
    // has them, the run whose middle lies nearest the stage; seat ids ascending. Nothing when no
    // row of the category has `count` free seats together (a group is never split), when the
    // category is not the venue's (Venue::category_index of an unknown id), or when `count` is
    // not 1 to limits::seats_per_order_max.
    std::optional<std::vector<SeatId>> find(const SeatStates& states, std::uint32_t category,
                                            std::uint32_t count) const;

    // The most seats a row of `category` has: a larger group never sits together. 0 for a
    // category that is not the venue's.
    std::uint32_t longest_row(std::uint32_t category) const;

private:
    const Venue& venue_;
    std::vector<std::vector<std::uint32_t>> rows_by_category_;  // Row indexes, nearest first.

    std::optional<std::vector<SeatId>> find_in_row(const SeatStates& states, const Row& row,
                                                   std::uint32_t count) const;
};

}  // namespace tigerfans::seating

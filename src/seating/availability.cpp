// The packed seat states and the best-available search over them.
#include "tigerfans/seating/availability.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::seating {

namespace {
constexpr std::uint32_t seats_per_byte = 4;
constexpr std::uint8_t state_mask = 0b11;

std::uint32_t shift_of(SeatId seat) { return 2 * (seat % seats_per_byte); }

double row_stage_distance(const Venue& venue, const Row& row) {
    double nearest = std::numeric_limits<double>::infinity();
    for (std::uint32_t offset = 0; offset < row.seat_count; offset++) {
        nearest = std::min(nearest, std::hypot(row.seat_x(offset) - venue.stage_x,
                                               row.seat_y(offset) - venue.stage_y));
    }
    return nearest;
}
}  // namespace

SeatStates::SeatStates(std::uint32_t seat_count)
    : seat_count_(seat_count), bytes_((seat_count + seats_per_byte - 1) / seats_per_byte, '\0') {
    TF_ASSERT_LE(seat_count, limits::venue_seats_max);
}

SeatState SeatStates::get(SeatId seat) const {
    TF_ASSERT_LT(seat, seat_count_);
    const auto byte = static_cast<std::uint8_t>(bytes_[seat / seats_per_byte]);
    const auto bits = static_cast<std::uint8_t>((byte >> shift_of(seat)) & state_mask);
    TF_ASSERT_LE(bits, static_cast<std::uint8_t>(SeatState::sold));
    return static_cast<SeatState>(bits);
}

void SeatStates::set(SeatId seat, SeatState state) {
    TF_ASSERT_LT(seat, seat_count_);
    auto byte = static_cast<std::uint8_t>(bytes_[seat / seats_per_byte]);
    byte = static_cast<std::uint8_t>(byte & ~(state_mask << shift_of(seat)));
    byte = static_cast<std::uint8_t>(byte | (static_cast<std::uint8_t>(state) << shift_of(seat)));
    bytes_[seat / seats_per_byte] = static_cast<char>(byte);
    TF_ASSERT(get(seat) == state);
}

std::uint32_t SeatStates::count(SeatState state) const {
    const SeatCounts all = counts();
    switch (state) {
        case SeatState::free: return all.free;
        case SeatState::held: return all.held;
        case SeatState::sold: return all.sold;
    }
    return 0;
}

SeatCounts SeatStates::counts() const {
    SeatCounts all;
    for (SeatId seat = 0; seat < seat_count_; seat++) {
        switch (get(seat)) {
            case SeatState::free: all.free++; break;
            case SeatState::held: all.held++; break;
            case SeatState::sold: all.sold++; break;
        }
    }
    TF_ASSERT_EQ(all.free + all.held + all.sold, seat_count_);
    return all;
}

BestAvailable::BestAvailable(const Venue& venue)
    : venue_(venue), rows_by_category_(venue.categories.size()) {
    std::vector<double> distance(venue.rows.size());
    for (std::size_t i = 0; i < venue.rows.size(); i++) {
        distance[i] = row_stage_distance(venue, venue.rows[i]);
        rows_by_category_[venue.rows[i].category].push_back(static_cast<std::uint32_t>(i));
    }
    for (auto& rows : rows_by_category_) {
        // Ties keep the file's order, so every process picks the same row.
        std::ranges::stable_sort(
            rows, [&](std::uint32_t a, std::uint32_t b) { return distance[a] < distance[b]; });
    }
}

std::uint32_t BestAvailable::longest_row(std::uint32_t category) const {
    if (category >= rows_by_category_.size()) return 0;
    std::uint32_t longest = 0;
    for (const std::uint32_t row : rows_by_category_[category]) {
        longest = std::max(longest, venue_.rows[row].seat_count);
    }
    return longest;
}

std::optional<std::vector<SeatId>> BestAvailable::find(const SeatStates& states,
                                                       std::uint32_t category,
                                                       std::uint32_t count) const {
    TF_ASSERT_EQ(states.seat_count(), venue_.seat_count);
    if (category >= rows_by_category_.size()) return std::nullopt;
    if (count < 1 || count > limits::seats_per_order_max) return std::nullopt;
    for (const std::uint32_t row : rows_by_category_[category]) {
        if (auto seats = find_in_row(states, venue_.rows[row], count)) return seats;
    }
    return std::nullopt;
}

// Every window of `count` free seats in a row; the one whose middle is nearest the stage wins,
// the first of equals.
std::optional<std::vector<SeatId>> BestAvailable::find_in_row(const SeatStates& states,
                                                              const Row& row,
                                                              std::uint32_t count) const {
    if (row.seat_count < count) return std::nullopt;
    std::uint32_t run = 0;  // Free seats ending at `offset`.
    std::optional<std::uint32_t> best_start;
    double best_distance = std::numeric_limits<double>::infinity();
    for (std::uint32_t offset = 0; offset < row.seat_count; offset++) {
        run = states.get(row.first_seat + offset) == SeatState::free ? run + 1 : 0;
        if (run < count) continue;
        const std::uint32_t start = offset + 1 - count;
        const double middle = start + (count - 1) / 2.0;
        const double distance = std::hypot(row.x + row.dx * middle - venue_.stage_x,
                                           row.y + row.dy * middle - venue_.stage_y);
        if (distance < best_distance) {
            best_distance = distance;
            best_start = start;
        }
    }
    if (!best_start) return std::nullopt;
    std::vector<SeatId> seats(count);
    for (std::uint32_t i = 0; i < count; i++) seats[i] = row.first_seat + *best_start + i;
    return seats;
}

}  // namespace tigerfans::seating

// Seat and hold lists as text.
#include "tigerfans/seating/seat_list.hpp"

#include <charconv>
#include <limits>

#include "tigerfans/core/limits.hpp"

namespace tigerfans::seating {

namespace {
template <typename T, typename Format>
std::string joined(std::span<const T> values, Format format) {
    std::string text;
    for (const T& value : values) {
        if (!text.empty()) text.push_back(',');
        text.append(format(value));
    }
    return text;
}

// Splits at commas and parses each member; nullopt at the first bad one.
template <typename T, typename Parse>
std::optional<std::vector<T>> split(std::string_view text, Parse parse) {
    std::vector<T> values;
    if (text.empty()) return values;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        const std::string_view member = text.substr(start, comma - start);
        if (values.size() == limits::seats_per_order_max) return std::nullopt;
        const std::optional<T> value = parse(member);
        if (!value) return std::nullopt;
        values.push_back(*value);
        if (comma == std::string_view::npos) return values;
        start = comma + 1;
    }
}

std::optional<SeatId> parse_seat(std::string_view member) {
    if (member.empty() || member.size() > std::numeric_limits<SeatId>::digits10 + 1) {
        return std::nullopt;
    }
    SeatId seat = 0;
    const auto [end, error] = std::from_chars(member.data(), member.data() + member.size(), seat);
    if (error != std::errc() || end != member.data() + member.size()) return std::nullopt;
    return seat;
}
}  // namespace

std::string seat_list_text(std::span<const SeatId> seats) {
    return joined(seats, [](SeatId seat) { return std::to_string(seat); });
}

std::string hold_list_text(std::span<const u128> hold_ids) {
    return joined(hold_ids, [](u128 id) { return u128_to_decimal(id); });
}

std::optional<std::vector<SeatId>> parse_seat_list(std::string_view text) {
    return split<SeatId>(text, parse_seat);
}

std::optional<std::vector<u128>> parse_hold_list(std::string_view text) {
    return split<u128>(text, [](std::string_view member) { return u128_from_decimal(member); });
}

}  // namespace tigerfans::seating

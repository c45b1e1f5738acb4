// A venue for reserved seating: sections of straight rows of seats, each row in one price
// category, drawn on a plane with the stage at a point. Read from a JSON file under
// web/venues/ (docs/SEATING.md has the format) and validated as a whole: every mistake is
// reported with its place in the file, and a venue that loads is one the rest of the server can
// trust (ids unique, references resolved, every limit of core/limits.hpp kept).
//
// Seat ids are the seats' positions in the file, section by section, row by row, from 0: a
// seat's ledger account and its bit in the availability map derive from that id, so changing
// the file's order changes which seat an id names (the seat digest says when it changed).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tigerfans::seating {

using SeatId = std::uint32_t;

struct Category {
    std::string id;  // Short and URL-safe: what best_available names.
    std::string name;
    std::int64_t price_cents = 0;
};

struct Row {
    std::uint32_t section = 0;  // Index into Venue::sections.
    std::string label;
    std::uint32_t category = 0;  // Index into Venue::categories.
    SeatId first_seat = 0;
    std::uint32_t seat_count = 0;
    std::uint32_t first_number = 1;  // The printed number of the row's first seat.
    // The first seat's centre and the step from one seat to the next, in the venue's units.
    double x = 0;
    double y = 0;
    double dx = 0;
    double dy = 0;

    double seat_x(std::uint32_t offset) const { return x + dx * offset; }
    double seat_y(std::uint32_t offset) const { return y + dy * offset; }
};

struct Section {
    std::string id;
    std::string name;
    std::uint32_t first_row = 0;  // Index into Venue::rows.
    std::uint32_t row_count = 0;
};

// Where one seat is: its row and its place in the row (0 for the row's first seat).
struct SeatPlace {
    std::uint32_t row = 0;
    std::uint32_t offset = 0;
};

struct Venue {
    std::string id;
    std::string name;
    double stage_x = 0;
    double stage_y = 0;
    std::vector<Category> categories;
    std::vector<Section> sections;
    std::vector<Row> rows;
    std::uint32_t seat_count = 0;
    std::string digest;  // SHA-256 of the file, hex: changes with any byte of it.
    // SHA-256 of what names the seats (the venue's id, each section's id, each row's label,
    // seat count and first number), hex: the ledger's seat accounts are keyed by it, so an
    // edit of names, prices or coordinates keeps every seat's account and what it sold.
    std::string seat_digest;

    SeatPlace place(SeatId seat) const;
    // "stalls A-12": section id, row label and seat number, as tickets print it.
    std::string seat_label(SeatId seat) const;
    double stage_distance(SeatId seat) const;
    // The sum of the seats' category prices, in cents.
    std::int64_t price_cents(std::span<const SeatId> seats) const;
    // The category with this id, or categories.size() when there is none.
    std::uint32_t category_index(std::string_view wanted) const;
};

struct VenueErrors {
    // "sections[2].rows[0].seats: ..." each; the first 100, then how many more there were.
    std::vector<std::string> lines;
};

// The venue a file's text describes, or everything wrong with it.
std::variant<Venue, VenueErrors> parse_venue(std::string_view text);

// Reads and parses `path` (at most limits::venue_file_bytes_max); an unreadable file is one
// error line naming it.
std::variant<Venue, VenueErrors> load_venue(const std::string& path);

}  // namespace tigerfans::seating

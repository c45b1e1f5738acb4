// Reading a venue file: every field checked, every error collected with its place in the file,
// so one run of the server names all that is wrong with a venue.
#include "tigerfans/seating/venue.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::seating {

namespace {
using nlohmann::json;

constexpr std::size_t id_bytes_max = 32;
constexpr std::size_t name_bytes_max = 100;
constexpr std::size_t label_bytes_max = 8;
// Coordinates are drawing units; far beyond any map, and exact in a double.
constexpr double coordinate_max = 1e6;
constexpr std::int64_t price_cents_max = 100'000'000;
constexpr std::int64_t seat_number_max = 100'000;
constexpr std::size_t section_rows_max = 1'000;
// A file broken everywhere names its first mistakes and counts the rest.
constexpr std::size_t errors_max = 100;

bool is_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Collects the errors of one file, each prefixed with the path of the value it concerns.
class Reader {
public:
    std::vector<std::string> errors;
    std::size_t errors_dropped = 0;  // Beyond errors_max: counted, not kept.
    bool categories_read = true;     // False: rows' category references are not checked.

    void fail(const std::string& path, const std::string& message) {
        if (errors.size() >= errors_max) {
            errors_dropped++;
            return;
        }
        errors.push_back(path + ": " + message);
    }

    const json* field(const json& object, const std::string& path, const char* name) {
        const auto found = object.find(name);
        if (found == object.end()) {
            fail(path + "." + name, "is required");
            return nullptr;
        }
        return &*found;
    }

    std::string text(const json& object, const std::string& path, const char* name,
                     std::size_t bytes_max, bool id_form) {
        const json* value = field(object, path, name);
        if (value == nullptr) return {};
        const std::string where = path + "." + name;
        if (!value->is_string()) {
            fail(where, "must be a string");
            return {};
        }
        std::string result = value->get<std::string>();
        if (result.empty() || result.size() > bytes_max) {
            fail(where, "must be 1 to " + std::to_string(bytes_max) + " bytes");
            return {};
        }
        if (id_form && !std::ranges::all_of(result, is_id_char)) {
            fail(where, "may hold only a-z, 0-9, '-' and '_'");
            return {};
        }
        if (!id_form && std::ranges::any_of(
                            result, [](char c) { return static_cast<unsigned char>(c) < ' '; })) {
            fail(where, "may not hold control characters");
            return {};
        }
        return result;
    }

    std::int64_t integer(const json& object, const std::string& path, const char* name,
                         std::int64_t min, std::int64_t max, std::int64_t fallback) {
        const auto found = object.find(name);
        if (found == object.end()) return fallback;
        if (!found->is_number_integer() || found->get<std::int64_t>() < min ||
            found->get<std::int64_t>() > max) {
            fail(path + "." + name,
                 "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
            return fallback;
        }
        return found->get<std::int64_t>();
    }

    double coordinate(const json& object, const std::string& path, const char* name) {
        const json* value = field(object, path, name);
        if (value == nullptr) return 0;
        if (!value->is_number() || !std::isfinite(value->get<double>()) ||
            std::abs(value->get<double>()) > coordinate_max) {
            fail(path + "." + name, "must be a number from -1e6 to 1e6");
            return 0;
        }
        return value->get<double>();
    }

    const json* array(const json& object, const std::string& path, const char* name,
                      std::size_t count_max) {
        const json* value = field(object, path, name);
        if (value == nullptr) return nullptr;
        if (!value->is_array() || value->empty() || value->size() > count_max) {
            fail(path + "." + name,
                 "must be an array of 1 to " + std::to_string(count_max) + " entries");
            return nullptr;
        }
        return value;
    }
};

void read_categories(Reader& reader, const json& root, Venue& venue) {
    const json* list = reader.array(root, "venue", "categories", limits::venue_categories_max);
    if (list == nullptr) return;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < list->size(); i++) {
        const std::string path = "categories[" + std::to_string(i) + "]";
        const json& entry = (*list)[i];
        if (!entry.is_object()) {
            reader.fail(path, "must be an object");
            continue;
        }
        Category category;
        category.id = reader.text(entry, path, "id", id_bytes_max, true);
        category.name = reader.text(entry, path, "name", name_bytes_max, false);
        category.price_cents = reader.integer(entry, path, "price_cents", 0, price_cents_max, -1);
        if (category.price_cents < 0 && entry.find("price_cents") == entry.end()) {
            reader.fail(path + ".price_cents", "is required");
        }
        if (!category.id.empty() && !seen.insert(category.id).second) {
            reader.fail(path + ".id", "'" + category.id + "' appears twice");
        }
        venue.categories.push_back(std::move(category));
    }
}

void read_row(Reader& reader, const json& entry, const std::string& path, Venue& venue,
              std::set<std::string>& labels) {
    Row row;
    row.section = static_cast<std::uint32_t>(venue.sections.size());
    row.label = reader.text(entry, path, "label", label_bytes_max, false);
    if (!row.label.empty() && !labels.insert(row.label).second) {
        reader.fail(path + ".label", "'" + row.label + "' appears twice in its section");
    }
    const std::string category = reader.text(entry, path, "category", id_bytes_max, true);
    row.category = venue.category_index(category);
    if (!category.empty() && reader.categories_read && row.category == venue.categories.size()) {
        reader.fail(path + ".category", "'" + category + "' is not one of the categories");
    }
    const std::int64_t seats =
        reader.integer(entry, path, "seats", 1, limits::venue_row_seats_max, 0);
    if (seats == 0 && entry.find("seats") == entry.end())
        reader.fail(path + ".seats", "is required");
    row.seat_count = static_cast<std::uint32_t>(seats);
    row.first_number = static_cast<std::uint32_t>(
        reader.integer(entry, path, "first_number", 0, seat_number_max, 1));
    row.x = reader.coordinate(entry, path, "x");
    row.y = reader.coordinate(entry, path, "y");
    row.dx = reader.coordinate(entry, path, "dx");
    row.dy = reader.coordinate(entry, path, "dy");
    if (row.seat_count > 1 && row.dx == 0 && row.dy == 0) {
        reader.fail(path, "dx and dy are both 0: its seats would lie on one point");
    }
    row.first_seat = venue.seat_count;
    venue.seat_count += row.seat_count;
    venue.rows.push_back(std::move(row));
}

void read_section(Reader& reader, const json& entry, const std::string& path, Venue& venue) {
    Section section;
    section.id = reader.text(entry, path, "id", id_bytes_max, true);
    section.name = reader.text(entry, path, "name", name_bytes_max, false);
    section.first_row = static_cast<std::uint32_t>(venue.rows.size());
    const json* rows = reader.array(entry, path, "rows", section_rows_max);
    std::set<std::string> labels;
    for (std::size_t i = 0; rows != nullptr && i < rows->size(); i++) {
        const std::string row_path = path + ".rows[" + std::to_string(i) + "]";
        if (!(*rows)[i].is_object()) {
            reader.fail(row_path, "must be an object");
            continue;
        }
        read_row(reader, (*rows)[i], row_path, venue, labels);
        if (venue.seat_count > limits::venue_seats_max) return;
    }
    section.row_count = static_cast<std::uint32_t>(venue.rows.size()) - section.first_row;
    venue.sections.push_back(std::move(section));
}

void read_sections(Reader& reader, const json& root, Venue& venue) {
    const json* list = reader.array(root, "venue", "sections", limits::venue_sections_max);
    if (list == nullptr) return;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < list->size(); i++) {
        const std::string path = "sections[" + std::to_string(i) + "]";
        if (!(*list)[i].is_object()) {
            reader.fail(path, "must be an object");
            continue;
        }
        read_section(reader, (*list)[i], path, venue);
        if (venue.seat_count > limits::venue_seats_max) {
            reader.fail(path, "the venue holds more than " +
                                  std::to_string(limits::venue_seats_max) + " seats");
            return;
        }
        const std::string& id = venue.sections.back().id;
        if (!id.empty() && !seen.insert(id).second) {
            reader.fail(path + ".id", "'" + id + "' appears twice");
        }
    }
}
// What names the seats, and only that: the venue's id and, in order, every section's id and
// every row's label, seat count and first number. Names, prices, coordinates and the file's
// bytes (line ends, number formatting) may change without renaming a seat.
std::string seat_identity_digest(const Venue& venue) {
    std::string identity = venue.id;
    for (const Section& section : venue.sections) {
        identity += "\n" + section.id;
        for (std::uint32_t i = 0; i < section.row_count; i++) {
            const Row& row = venue.rows[section.first_row + i];
            identity += "\t" + row.label + "/" + std::to_string(row.seat_count) + "/" +
                        std::to_string(row.first_number);
        }
    }
    return sha256_hex(identity);
}
}  // namespace

SeatPlace Venue::place(SeatId seat) const {
    TF_ASSERT_LT(seat, seat_count);
    const auto after =
        std::upper_bound(rows.begin(), rows.end(), seat,
                         [](SeatId wanted, const Row& row) { return wanted < row.first_seat; });
    TF_ASSERT(after != rows.begin());
    const auto row = static_cast<std::uint32_t>(std::distance(rows.begin(), after) - 1);
    TF_ASSERT_LT(seat - rows[row].first_seat, rows[row].seat_count);
    return SeatPlace{row, seat - rows[row].first_seat};
}

std::int64_t Venue::price_cents(std::span<const SeatId> seats) const {
    std::int64_t total = 0;
    for (SeatId seat : seats) total += categories[rows[place(seat).row].category].price_cents;
    return total;
}

std::string Venue::seat_label(SeatId seat) const {
    const SeatPlace at = place(seat);
    const Row& row = rows[at.row];
    return sections[row.section].id + " " + row.label + "-" +
           std::to_string(row.first_number + at.offset);
}

double Venue::stage_distance(SeatId seat) const {
    const SeatPlace at = place(seat);
    const Row& row = rows[at.row];
    return std::hypot(row.seat_x(at.offset) - stage_x, row.seat_y(at.offset) - stage_y);
}

std::uint32_t Venue::category_index(std::string_view wanted) const {
    for (std::size_t i = 0; i < categories.size(); i++) {
        if (categories[i].id == wanted) return static_cast<std::uint32_t>(i);
    }
    return static_cast<std::uint32_t>(categories.size());
}

std::variant<Venue, VenueErrors> parse_venue(std::string_view text) {
    const json root = json::parse(text, nullptr, false);
    if (root.is_discarded() || !root.is_object()) {
        return VenueErrors{{"venue: the file must hold one JSON object"}};
    }
    Reader reader;
    Venue venue;
    venue.id = reader.text(root, "venue", "id", id_bytes_max, true);
    venue.name = reader.text(root, "venue", "name", name_bytes_max, false);
    if (const json* stage = reader.field(root, "venue", "stage"); stage && stage->is_object()) {
        venue.stage_x = reader.coordinate(*stage, "stage", "x");
        venue.stage_y = reader.coordinate(*stage, "stage", "y");
    } else if (stage != nullptr) {
        reader.fail("venue.stage", "must be an object with x and y");
    }
    const std::size_t before_categories = reader.errors.size();
    read_categories(reader, root, venue);
    reader.categories_read = reader.errors.size() == before_categories;
    read_sections(reader, root, venue);
    if (!reader.errors.empty()) {
        if (reader.errors_dropped > 0) {
            reader.errors.push_back("venue: and " + std::to_string(reader.errors_dropped) +
                                    " more mistakes");
        }
        return VenueErrors{std::move(reader.errors)};
    }
    TF_ASSERT_GT(venue.seat_count, 0u);
    TF_ASSERT_LE(venue.seat_count, limits::venue_seats_max);
    venue.digest = sha256_hex(text);
    venue.seat_digest = seat_identity_digest(venue);
    return venue;
}

std::variant<Venue, VenueErrors> load_venue(const std::string& path) {
    std::error_code error;
    const std::uintmax_t bytes = std::filesystem::file_size(path, error);
    if (error) return VenueErrors{{path + ": cannot be read (" + error.message() + ")"}};
    if (bytes > limits::venue_file_bytes_max) {
        return VenueErrors{
            {path + ": larger than " + std::to_string(limits::venue_file_bytes_max) + " bytes"}};
    }
    std::ifstream file(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (!file.good() && !file.eof()) return VenueErrors{{path + ": cannot be read"}};
    return parse_venue(text);
}

}  // namespace tigerfans::seating

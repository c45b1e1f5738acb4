// GET /api/venue and GET /api/seats.
#include "tigerfans/seating/routes.hpp"

#include <memory>
#include <nlohmann/json.hpp>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/http/errors.hpp"
#include "tigerfans/http/etag.hpp"
#include "tigerfans/http/gzip.hpp"
#include "tigerfans/seating/seat_map.hpp"

namespace tigerfans::seating {

namespace asio = boost::asio;

namespace {
nlohmann::json row_json(const Venue& venue, const Row& row) {
    return {{"label", row.label},
            {"category", venue.categories[row.category].id},
            {"first_seat", row.first_seat},
            {"seats", row.seat_count},
            {"first_number", row.first_number},
            {"x", row.x},
            {"y", row.y},
            {"dx", row.dx},
            {"dy", row.dy}};
}

// The layout's answer, made once: body, its gzip and tag.
struct Layout {
    std::string body;
    std::string body_gzip;
    std::string etag;
};
}  // namespace

std::string venue_layout_json(const Venue& venue) {
    nlohmann::json categories = nlohmann::json::array();
    for (const Category& category : venue.categories) {
        categories.push_back(
            {{"id", category.id}, {"name", category.name}, {"price_cents", category.price_cents}});
    }
    nlohmann::json sections = nlohmann::json::array();
    for (const Section& section : venue.sections) {
        nlohmann::json rows = nlohmann::json::array();
        for (std::uint32_t i = 0; i < section.row_count; i++) {
            rows.push_back(row_json(venue, venue.rows[section.first_row + i]));
        }
        sections.push_back({{"id", section.id}, {"name", section.name}, {"rows", std::move(rows)}});
    }
    const nlohmann::json layout = {
        {"id", venue.id},
        {"name", venue.name},
        {"digest", venue.digest},
        {"seats", venue.seat_count},
        {"stage", {{"x", venue.stage_x}, {"y", venue.stage_y}}},
        {"categories", std::move(categories)},
        {"sections", std::move(sections)},
    };
    return layout.dump();
}

namespace {
asio::awaitable<http::Response> seating_off(http::Request&) {
    co_return http::error_response(404, "seating_off",
                                   "this server sells no reserved seats (VENUE is unset)");
}

// 304 when the reader holds the tag, else the body: its gzip when the reader accepts that
// (most browsers: the seat map of a large venue shrinks many times) and it is the smaller. The
// gzip's bytes differ from the body's, so its tag is the body's made weak (W/"..."); a reader
// holding either gets 304, since If-None-Match compares weakly. Either way no caching without
// asking again, and caches keep the two forms apart (Vary).
http::Response tagged(const http::Request& request, const std::string& etag,
                      const std::string& body, const std::string& body_gzip) {
    const bool compressed = !body_gzip.empty() && body_gzip.size() < body.size() &&
                            http::accepts_gzip(request.header("Accept-Encoding"));
    http::Response response = http::etag_matches(request.header("If-None-Match"), etag)
                                  ? http::Response::text(304, {}, {})
                                  : http::Response::json(200, compressed ? body_gzip : body);
    if (compressed && response.status == 200) response.with_header("Content-Encoding", "gzip");
    response.with_header("ETag", compressed ? "W/" + etag : etag);
    response.with_header("Cache-Control", "no-cache");
    response.with_header("Vary", "Accept-Encoding");
    return response;
}
}  // namespace

http::Routes venue_routes(const Venue* venue, SeatMap* seat_map) {
    if (venue == nullptr) {
        return {{http::Method::get, "/api/venue", seating_off},
                {http::Method::get, "/api/seats", seating_off}};
    }
    TF_ASSERT(seat_map != nullptr);
    TF_ASSERT_GT(venue->seat_count, 0u);
    std::string body = venue_layout_json(*venue);
    // The tag names the body, so a server that writes the layout otherwise gets a new one.
    std::string etag = http::etag_of(body);
    std::string body_gzip = http::gzip(body);
    auto layout = std::make_shared<const Layout>(
        Layout{std::move(body), std::move(body_gzip), std::move(etag)});
    auto get_venue = [layout](http::Request& request) -> asio::awaitable<http::Response> {
        co_return tagged(request, layout->etag, layout->body, layout->body_gzip);
    };
    auto get_seats = [seat_map](http::Request& request) -> asio::awaitable<http::Response> {
        Result<SnapshotPtr> snapshot = co_await seat_map->current();
        if (!snapshot) co_return http::fault_response(snapshot.fault(), "the seat map");
        const SeatMapSnapshot& map = **snapshot;
        co_return tagged(request, map.etag, map.body, map.body_gzip);
    };
    return {{http::Method::get, "/api/venue", get_venue},
            {http::Method::get, "/api/seats", get_seats}};
}

}  // namespace tigerfans::seating

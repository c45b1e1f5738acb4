// In-memory static assets with ETags.
#include "tigerfans/http/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "tigerfans/http/errors.hpp"
#include "tigerfans/http/etag.hpp"

namespace tigerfans::http {

namespace {
constexpr std::string_view cache_control = "public, max-age=3600";
}  // namespace

std::string_view content_type_for(std::string_view file_name) {
    struct Entry {
        std::string_view extension;
        std::string_view type;
    };
    static constexpr Entry types[] = {
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".html", "text/html; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
        {".csv", "text/csv; charset=utf-8"},
    };
    for (const Entry& entry : types) {
        if (file_name.ends_with(entry.extension)) return entry.type;
    }
    return "application/octet-stream";
}

StaticFiles::StaticFiles(const std::string& directory) {
    namespace fs = std::filesystem;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(directory, error)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream file(entry.path(), std::ios::binary);
        std::ostringstream body;
        body << file.rdbuf();
        const std::string name = entry.path().filename().string();
        Asset asset{body.str(), std::string(content_type_for(name)), {}};
        asset.etag = etag_of(asset.body);
        assets_.emplace(name, std::move(asset));
    }
}

Response StaticFiles::serve(std::string_view name, std::string_view if_none_match) const {
    const auto found = assets_.find(name);
    if (found == assets_.end()) return not_found("no static file " + std::string(name));
    const Asset& asset = found->second;
    Response response;
    if (etag_matches(if_none_match, asset.etag)) {
        response = Response::text(304, {}, {});
    } else {
        response = Response::text(200, asset.body, asset.content_type);
    }
    response.with_header("Cache-Control", std::string(cache_control));
    response.with_header("ETag", asset.etag);
    return response;
}

Routes StaticFiles::routes() const {
    auto get_asset = [this](Request& request) -> boost::asio::awaitable<Response> {
        co_return serve(request.path_param("name"), request.header("If-None-Match"));
    };
    return {{Method::get, "/static/{name}", get_asset}};
}

}  // namespace tigerfans::http

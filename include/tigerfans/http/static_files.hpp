// Static assets (CSS, JS, images) from web/static, loaded into memory at start-up and served
// at /static/<name> with their content type and cache headers. Nothing is fetched at run time.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "tigerfans/http/router.hpp"

namespace tigerfans::http {

std::string_view content_type_for(std::string_view file_name);

class StaticFiles {
public:
    // Loads every regular file directly under `directory` (missing folder: nothing served).
    explicit StaticFiles(const std::string& directory);
    // The route table: GET /static/{name}.
    Routes routes() const;
    Response serve(std::string_view name, std::string_view if_none_match) const;

private:
    struct Asset {
        std::string body;
        std::string content_type;
        std::string etag;
    };
    std::map<std::string, Asset, std::less<>> assets_;
};

}  // namespace tigerfans::http

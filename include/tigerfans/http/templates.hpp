// Pages from web/: HTML templates loaded once at start-up and filled per request. `{{name}}`
// inserts an HTML-escaped value, `{{{name}}}` inserts trusted markup (built by our own code).
// Every page is rendered inside web/templates/layout.html.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tigerfans::http {

using TemplateVars = std::vector<std::pair<std::string, std::string>>;

std::string html_escape(std::string_view text);

// Fills one template text; unknown names render empty.
std::string fill_template(std::string_view text, const TemplateVars& vars);

class Templates {
public:
    // Loads every *.html of `directory`. Throws when the folder or layout.html is missing.
    explicit Templates(const std::string& directory);

    // Renders `name` (without .html) and wraps it in the layout with `title`.
    std::string page(std::string_view name, std::string_view title, const TemplateVars& vars) const;
    bool has(std::string_view name) const;

    // Values every page sees (the layout's footer), overridden by a page's own.
    void set_globals(TemplateVars globals) { globals_ = std::move(globals); }

private:
    std::map<std::string, std::string, std::less<>> texts_;
    TemplateVars globals_;
};

}  // namespace tigerfans::http

// Template loading and filling.
#include "tigerfans/http/templates.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::http {

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

namespace {
std::string_view lookup(const TemplateVars& vars, std::string_view name) {
    for (const auto& [key, value] : vars) {
        if (key == name) return value;
    }
    return {};
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    return text;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}
}  // namespace

std::string fill_template(std::string_view text, const TemplateVars& vars) {
    std::string out;
    out.reserve(text.size() * 2);
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t open = text.find("{{", at);
        if (open == std::string_view::npos) break;
        const bool raw = text.substr(open, 3) == "{{{";
        const std::string_view closing = raw ? "}}}" : "}}";
        const std::size_t name_start = open + (raw ? 3 : 2);
        const std::size_t close = text.find(closing, name_start);
        if (close == std::string_view::npos) break;
        out.append(text.substr(at, open - at));
        const std::string_view value =
            lookup(vars, trim(text.substr(name_start, close - name_start)));
        out += raw ? std::string(value) : html_escape(value);
        at = close + closing.size();
    }
    out.append(text.substr(at));
    return out;
}

Templates::Templates(const std::string& directory) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(directory)) throw std::runtime_error("no template folder " + directory);
    for (const auto& entry : fs::directory_iterator(directory)) {
        if (entry.path().extension() != ".html") continue;
        texts_.emplace(entry.path().stem().string(), read_file(entry.path()));
    }
    if (!has("layout")) throw std::runtime_error("missing " + directory + "/layout.html");
}

bool Templates::has(std::string_view name) const { return texts_.find(name) != texts_.end(); }

std::string Templates::page(std::string_view name, std::string_view title,
                            const TemplateVars& vars) const {
    const auto found = texts_.find(name);
    TF_ASSERT(found != texts_.end());
    TemplateVars page_vars = vars;
    page_vars.insert(page_vars.end(), globals_.begin(), globals_.end());  // Page values first.
    // The layout's own two first: the first value of a name counts, and a page value named
    // `content` would otherwise stand, unescaped, for the page's markup.
    TemplateVars layout_vars = {{"title", std::string(title)},
                                {"content", fill_template(found->second, page_vars)}};
    layout_vars.insert(layout_vars.end(), page_vars.begin(), page_vars.end());
    return fill_template(texts_.find("layout")->second, layout_vars);
}

}  // namespace tigerfans::http

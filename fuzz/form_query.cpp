// Fuzz target: percent-decoding and form/query parsing (http/message.hpp), given the input as
// a form body or query string. Decoding undoes encoding, never grows the text, agrees between
// its two forms, and a named value is the first field of that name.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "require.hpp"
#include "tigerfans/http/message.hpp"

namespace {

using namespace tigerfans::http;
using tigerfans::fuzz::require;

void check_decoding(std::string_view text, bool plus_is_space) {
    const std::optional<std::string> decoded = percent_decode(text, plus_is_space);
    std::string reused = "left over";
    require(percent_decode_to(text, plus_is_space, reused) == decoded.has_value(),
            "both decoders agree on what is malformed");
    if (!decoded) return;
    require(reused == *decoded, "both decoders decode alike");
    require(decoded->size() <= text.size(), "decoding never grows the text");
    require(percent_decode(percent_encode(*decoded), plus_is_space) == decoded,
            "decoding undoes encoding");
}

using Fields = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string> first_value(const Fields& fields, std::string_view name) {
    for (const auto& [key, value] : fields) {
        if (key == name) return value;
    }
    return std::nullopt;
}

void check_form(std::string_view text) {
    const auto fields = parse_form(text);
    Request request;
    request.query.assign(text);
    for (std::string_view name : {"t", "limit"}) {
        const std::optional<std::string> value = form_value(text, name);
        require(request.query_param(name) == value, "a query parameter is its form value");
        require(value == (fields ? first_value(*fields, name) : std::nullopt),
                "a form value is the first field of its name");
    }
    if (!fields || fields->empty()) return;
    const auto& [first_name, first] = fields->front();
    require(form_value(text, first_name) == first, "the first field is found by its name");
    require(form_value(text, fields->back().first).has_value(),
            "the last field is found by its name");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_decoding(text, false);
    check_decoding(text, true);
    check_form(text);
    return 0;
}

// The checkout request body: a JSON object with a ticket class and an email address.
#include "tigerfans/flows/checkout.hpp"

#include <nlohmann/json.hpp>

namespace tigerfans::flows {

namespace {
const nlohmann::json* string_field(const nlohmann::json& object, const char* name) {
    const auto found = object.find(name);
    if (found == object.end() || !found->is_string()) return nullptr;
    return &*found;
}

std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}
}  // namespace

bool is_valid_email(std::string_view email) {
    if (email.empty() || email.size() > email_bytes_max) return false;
    const std::size_t at = email.find('@');
    if (at == 0 || at == std::string_view::npos ||
        email.find('@', at + 1) != std::string_view::npos) {
        return false;
    }
    for (unsigned char c : email) {
        if (c <= ' ' || c == 0x7F) return false;
    }
    const std::string_view domain = email.substr(at + 1);
    const std::size_t dot = domain.rfind('.');
    return dot != std::string_view::npos && dot > 0 && dot + 1 < domain.size();
}

std::variant<CheckoutRequest, InvalidInput> parse_checkout_request(std::string_view body) {
    const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return InvalidInput{"the body must be a JSON object"};
    }
    CheckoutRequest request;
    const nlohmann::json* email = string_field(json, "customer_email");
    request.customer_email = email ? trimmed(email->get<std::string>()) : std::string();
    if (!is_valid_email(request.customer_email)) {
        return InvalidInput{"customer_email is required and must be a valid email address"};
    }
    const nlohmann::json* cls = string_field(json, "cls");
    const auto parsed = cls ? parse_class(cls->get<std::string>()) : std::nullopt;
    if (!parsed) return InvalidInput{"invalid ticket class: cls must be \"A\" or \"B\""};
    request.cls = *parsed;
    return request;
}

}  // namespace tigerfans::flows

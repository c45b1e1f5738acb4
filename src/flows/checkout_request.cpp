// The checkout request body: a JSON object with an email address and a ticket class or seats.
#include "tigerfans/flows/checkout.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "tigerfans/core/limits.hpp"

namespace tigerfans::flows {

namespace {
const nlohmann::json* string_field(const nlohmann::json& object, const char* name) {
    const auto found = object.find(name);
    if (found == object.end() || !found->is_string()) return nullptr;
    return &*found;
}

// Category ids are short (seating/venue.hpp); anything longer names none.
constexpr std::size_t category_bytes_max = 64;

const std::string seats_shape = "seats must be an array of 1 to " +
                                std::to_string(limits::seats_per_order_max) +
                                " distinct seat ids (integers from 0)";

std::optional<std::vector<seating::SeatId>> parse_seats(const nlohmann::json& seats) {
    if (!seats.is_array() || seats.empty() || seats.size() > limits::seats_per_order_max) {
        return std::nullopt;
    }
    std::vector<seating::SeatId> ids;
    for (const nlohmann::json& seat : seats) {
        if (!seat.is_number_unsigned() ||
            seat.get<std::uint64_t>() > std::numeric_limits<seating::SeatId>::max()) {
            return std::nullopt;
        }
        ids.push_back(seat.get<seating::SeatId>());
    }
    std::sort(ids.begin(), ids.end());
    if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) return std::nullopt;
    return ids;
}

std::optional<BestAvailableAsk> parse_best_available(const nlohmann::json& ask) {
    if (!ask.is_object()) return std::nullopt;
    const nlohmann::json* category = string_field(ask, "category");
    const auto count = ask.find("count");
    if (category == nullptr || category->get_ref<const std::string&>().empty() ||
        category->get_ref<const std::string&>().size() > category_bytes_max || count == ask.end() ||
        !count->is_number_unsigned() || count->get<std::uint64_t>() < 1 ||
        count->get<std::uint64_t>() > limits::seats_per_order_max) {
        return std::nullopt;
    }
    return BestAvailableAsk{category->get<std::string>(), count->get<std::uint32_t>()};
}

// The seats part of a seat order: exactly one of `seats` and `best_available`, and no class.
std::optional<InvalidInput> parse_seat_choice(const nlohmann::json& json,
                                              CheckoutRequest& request) {
    const auto seats = json.find("seats");
    const auto best = json.find("best_available");
    if (seats != json.end() && best != json.end()) {
        return InvalidInput{"name seats or ask for best_available, not both"};
    }
    if (json.contains("cls")) {
        return InvalidInput{"cls is for general admission: a seat's price is its category's"};
    }
    if (seats != json.end()) {
        auto parsed = parse_seats(*seats);
        if (!parsed) return InvalidInput{seats_shape};
        request.seats = std::move(*parsed);
        return std::nullopt;
    }
    request.best_available = parse_best_available(*best);
    if (!request.best_available) {
        return InvalidInput{
            "best_available must be {\"category\": a category id, \"count\": 1 to " +
            std::to_string(limits::seats_per_order_max) + "}"};
    }
    return std::nullopt;
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
    if (json.contains("seats") || json.contains("best_available")) {
        if (auto invalid = parse_seat_choice(json, request)) return *std::move(invalid);
        return request;
    }
    const nlohmann::json* cls = string_field(json, "cls");
    const auto parsed = cls ? parse_class(cls->get<std::string>()) : std::nullopt;
    if (!parsed) return InvalidInput{"invalid ticket class: cls must be \"A\" or \"B\""};
    request.cls = *parsed;
    return request;
}

}  // namespace tigerfans::flows

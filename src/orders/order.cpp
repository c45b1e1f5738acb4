// Order status names as they appear in PostgreSQL and JSON; ids and payment keys as stored.
#include "tigerfans/orders/order.hpp"

#include <algorithm>

namespace tigerfans::orders {

std::string_view status_name(OrderStatus status) {
    switch (status) {
        case OrderStatus::paid: return "PAID";
        case OrderStatus::paid_unfulfilled: return "PAID_UNFULFILLED";
        case OrderStatus::failed: return "FAILED";
        case OrderStatus::canceled: return "CANCELED";
    }
    return "UNKNOWN";
}

std::optional<OrderStatus> parse_status(std::string_view name) {
    for (OrderStatus status : {OrderStatus::paid, OrderStatus::paid_unfulfilled,
                               OrderStatus::failed, OrderStatus::canceled}) {
        if (status_name(status) == name) return status;
    }
    return std::nullopt;
}

bool is_paid(OrderStatus status) {
    return status == OrderStatus::paid || status == OrderStatus::paid_unfulfilled;
}

bool may_replace(OrderStatus stored, OrderStatus incoming) {
    return !is_paid(stored) && is_paid(incoming);
}

std::string stored_payment_key(std::string_view key) {
    const bool printable =
        std::all_of(key.begin(), key.end(), [](char c) { return c >= ' ' && c < '\x7f'; });
    if (printable && !key.starts_with("hex:")) return std::string(key);
    constexpr std::string_view digits = "0123456789abcdef";
    std::string hex = "hex:";
    for (const char c : key) {
        const auto byte = static_cast<unsigned char>(c);
        hex += digits[byte >> 4];
        hex += digits[byte & 0xf];
    }
    return hex;
}

bool is_valid_order_id(std::string_view id) {
    if (id.size() != 32) return false;
    for (char c : id) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

}  // namespace tigerfans::orders

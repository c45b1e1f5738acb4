// The things on sale: two ticket classes with fixed prices, plus the goodies given to the first
// paid orders. Shared by every backend, so all levels sell the same thing.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tigerfans {

enum class TicketClass : std::uint8_t { a = 0, b = 1 };
inline constexpr std::array<TicketClass, 2> ticket_classes = {TicketClass::a, TicketClass::b};

// The inventory resources each backend keeps: one per ticket class and the goodies.
enum class Resource : std::uint8_t { class_a = 0, class_b = 1, goodies = 2 };
inline constexpr std::size_t resource_count = 3;

constexpr Resource resource_of(TicketClass cls) {
    return cls == TicketClass::a ? Resource::class_a : Resource::class_b;
}

constexpr std::string_view class_name(TicketClass cls) { return cls == TicketClass::a ? "A" : "B"; }

constexpr std::optional<TicketClass> parse_class(std::string_view name) {
    if (name == "A") return TicketClass::a;
    if (name == "B") return TicketClass::b;
    return std::nullopt;
}

constexpr std::int64_t price_cents(TicketClass cls) {
    constexpr std::int64_t price_a_cents = 6500;
    constexpr std::int64_t price_b_cents = 3500;
    return cls == TicketClass::a ? price_a_cents : price_b_cents;
}

inline constexpr std::string_view currency = "eur";
inline constexpr int ticket_quantity = 1;  // One ticket per order, as in the demo.

}  // namespace tigerfans

// Reading our own rows back: a value that does not parse (a class, a status, an id) means the
// table holds something this code never wrote, so the batch fails with an internal fault (the
// Worker turns the exception into one) instead of inventing a value.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tigerfans/core/u128.hpp"

namespace tigerfans::postgres {

template <typename T>
T required(std::optional<T> value, std::string_view what) {
    if (!value) throw std::runtime_error("postgres: unexpected " + std::string(what) + " in a row");
    return *value;
}

// A 128-bit id stored as decimal text.
inline u128 decimal_u128(const pqxx::field& field) {
    return required(u128_from_decimal(field.as<std::string>()), "128-bit id");
}

}  // namespace tigerfans::postgres

// Reads the few fields the load client needs (order_id, redirect_url, amount, status, the
// transfer ids) straight out of a JSON object's text, without building a document: one scan
// of the top-level members, nested values skipped. Strings with escapes are not decoded; such
// a field reads as absent, and the caller reports a bad answer instead of misreading it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tigerfans::loadgen {

// The raw text of member `name` of the top-level object (a string keeps its quotes); nullopt
// when absent or when `object` is not a well-formed object up to that member.
std::optional<std::string_view> json_member(std::string_view object, std::string_view name);

// A string member without escapes, unquoted.
std::optional<std::string_view> json_string_member(std::string_view object, std::string_view name);

std::optional<std::int64_t> json_integer_member(std::string_view object, std::string_view name);

// A number member, integer or not; nullopt for null, a string or anything else.
std::optional<double> json_number_member(std::string_view object, std::string_view name);

}  // namespace tigerfans::loadgen

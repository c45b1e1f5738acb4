// Named crash points for the fault-injection suite (tests/faults). Each is compiled into every
// build and costs one branch while disarmed. TIGERFANS_CRASH_AT="name:n[,name:n...]" arms
// them at start-up: the n-th time the process passes `name` it kills itself with SIGKILL, as
// kill -9 would, with no unwinding, no flushing and no shutdown. The names are listed here so
// a test can only arm what exists.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace tigerfans::crash {

inline constexpr std::array<std::string_view, 5> point_names = {
    "webhook.after_lease",    // The lease is taken; nothing is settled.
    "webhook.after_settle",   // The ledger posted or voided the holds; no order yet.
    "webhook.after_insert",   // The order committed; the gate is not yet done.
    "webhook.before_answer",  // The gate is done and the session dropped; no answer yet.
    "orders.mid_commit",      // Database thread: the batch's rows inserted, COMMIT not sent.
};

// Parses and arms a TIGERFANS_CRASH_AT value; an error message when it names an unknown point
// or a count below 1. An empty value disarms everything.
std::optional<std::string> arm(std::string_view spec);

// Counts a pass of `name` (one of point_names) and dies when its armed count is reached.
// Safe from any thread.
void point(std::string_view name);

}  // namespace tigerfans::crash

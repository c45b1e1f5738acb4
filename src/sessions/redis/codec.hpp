// How payment sessions, the webhook gate and checkout's idempotency keys are laid out in Redis: key
// names, and a session as a hash of text fields (128-bit ids in decimal, created_at_us as an
// integer), so an operator can read them with redis-cli. Pure functions, unit tested without a
// server.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessions/redis/reply.hpp"
#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::sessions::redis {

// The pending index: a sorted set of psids scored by created_at_us, newest last.
inline constexpr std::string_view pending_index_key = "pendings";

std::string session_key(std::string_view psid);     // ps:<psid>
std::string gate_key(std::string_view psid);        // gate:<psid>
std::string checkout_key(std::string_view key_id);  // ckey:<key_id>
// The ticket slots of one (normalised) email address: a sorted set of order ids, each scored
// by the Unix time in milliseconds until which it counts (inf for a paid ticket).
std::string email_slots_key(std::string_view email);  // slots:<email>

// A checkout key's record, one string: "lease:<fingerprint>:<token>" while claimed,
// "done:<fingerprint>:<status>:<body>" once answered (fingerprints and tokens hold no ':').
std::string key_lease_record(const KeyClaim& claim);
std::string key_done_record(const KeyClaim& claim, unsigned status, std::string_view body);
// A live record as claim_key answers it (busy or done); nullopt when malformed.
std::optional<KeyAnswer> decode_key_record(std::string_view record);

// What the gate key of a session holds: "lease:<token>" while a delivery works on it (expiring
// with the lease), "done:<order status>" once its order committed.
std::string gate_lease_mark(std::string_view token);
std::string gate_done_mark(std::string_view order_status);

// The gate script's answer to "take" ({code, status}); nullopt for any other shape.
std::optional<GateAnswer> decode_gate_answer(const Reply& reply);

// The session hash's field saying whether the goodie is held, and its value.
inline constexpr std::string_view goodie_held_field = "goodie_held";
constexpr std::string_view goodie_held_value(bool goodie_held) { return goodie_held ? "1" : "0"; }

// The field/value pairs of a session, in HSET argument order.
std::vector<std::string> encode_session(const PaymentSession& session);

// A session from the flat field/value list HGETALL answers. nullopt when a field is missing or
// malformed (a bug or a foreign writer, never a normal case); an empty list is the caller's
// "not found" and must be checked before.
std::optional<PaymentSession> decode_session(const std::vector<std::string>& fields);

}  // namespace tigerfans::sessions::redis

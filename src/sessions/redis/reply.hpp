// Redis replies as plain values. hiredis' protocol reader builds them directly (through the
// object functions below, in place of its own redisReply objects), and the reply callback moves
// the tree out before hiredis frees what it holds; the rest of the server never sees hiredis
// types. The store reads a reply with the checked accessors below.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tigerfans/core/result.hpp"

struct redisReplyObjectFunctions;  // hiredis; only reply.cpp fills it.

namespace tigerfans::sessions::redis {

struct Reply {
    enum class Kind : std::uint8_t { nil, status, error, integer, string, array };

    Kind kind = Kind::nil;
    std::int64_t integer = 0;     // Kind::integer
    std::string text;             // Kind::status, error and string
    std::vector<Reply> elements;  // Kind::array

    bool is_error() const { return kind == Kind::error; }
    // The error's leading word, e.g. "NOSCRIPT" or "WRONGTYPE"; empty for other kinds.
    std::string_view error_code() const;
    bool is_status(std::string_view expected) const {
        return kind == Kind::status && text == expected;
    }
    std::optional<std::int64_t> as_integer() const;
    // Every element of an array of bulk strings; nullopt for any other shape.
    std::optional<std::vector<std::string>> as_strings() const;
    // The same, moving the strings out of this reply instead of copying them.
    std::optional<std::vector<std::string>> take_strings();
};

// The fault for a reply the store cannot use. Errors that describe Redis' state rather than a
// bug (out of memory, loading its dataset, busy with a script, a read-only replica, unable to
// persist its writes or to reach the replicas it must write to) are worth a retry later:
// overloaded or unavailable, hence 503. Anything else is internal.
Fault fault_of(const Reply& reply);

// The first error among replies (a MULTI/EXEC pipeline reports a refused command there, while
// EXEC itself only says EXECABORT), or nullptr.
const Reply* first_error(const std::vector<Reply>& replies);

// The functions with which a hiredis reader builds Reply trees. Install them on a reader before it
// reads anything (a hiredis context's `c.reader->fn`). A finished reply the reader then hands out
// is such a tree's root: move it out with take_reply, and leave freeing the root to the reader's
// `freeObject`, as with hiredis' own objects. Never on a context that subscribes or monitors:
// hiredis reads pub/sub messages as its own objects.
redisReplyObjectFunctions* reply_functions();
// Moves the reply out of a root those functions built; the root itself stays hiredis' to free.
Reply take_reply(void* root);

// A short description for logs, e.g. `error "NOSCRIPT No matching script"` or `array of 3`.
std::string describe(const Reply& reply);

}  // namespace tigerfans::sessions::redis

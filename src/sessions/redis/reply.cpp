// Copying hiredis replies into plain values, and reading them back safely.
#include "sessions/redis/reply.hpp"

#include <hiredis/hiredis.h>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::sessions::redis {

namespace {

constexpr std::size_t describe_text_bytes_max = 120;

std::optional<Reply::Kind> kind_of(int type) {
    switch (type) {
        case REDIS_REPLY_STRING: return Reply::Kind::string;
        case REDIS_REPLY_ARRAY: return Reply::Kind::array;
        case REDIS_REPLY_INTEGER: return Reply::Kind::integer;
        case REDIS_REPLY_NIL: return Reply::Kind::nil;
        case REDIS_REPLY_STATUS: return Reply::Kind::status;
        case REDIS_REPLY_ERROR: return Reply::Kind::error;
    }
    return std::nullopt;  // hiredis 0.14 knows no other types (RESP3 came later).
}

bool has_text(Reply::Kind kind) {
    return kind == Reply::Kind::string || kind == Reply::Kind::status || kind == Reply::Kind::error;
}

}  // namespace

std::string_view Reply::error_code() const {
    if (kind != Kind::error) return {};
    const std::string_view message = text;
    return message.substr(0, message.find(' '));
}

std::optional<std::int64_t> Reply::as_integer() const {
    if (kind != Kind::integer) return std::nullopt;
    return integer;
}

std::optional<std::vector<std::string>> Reply::as_strings() const {
    Reply copy = *this;
    return copy.take_strings();
}

std::optional<std::vector<std::string>> Reply::take_strings() {
    if (kind != Kind::array) return std::nullopt;
    for (const Reply& element : elements) {
        if (element.kind != Kind::string) return std::nullopt;
    }
    std::vector<std::string> strings;
    strings.reserve(elements.size());
    for (Reply& element : elements) strings.push_back(std::move(element.text));
    return strings;
}

Reply make_error(std::string text) {
    Reply reply;
    reply.kind = Reply::Kind::error;
    reply.text = std::move(text);
    return reply;
}

Fault fault_of(const Reply& reply) {
    const std::string_view code = reply.error_code();
    if (code == "OOM") return Fault::overloaded;
    for (std::string_view transient : {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN"}) {
        if (code == transient) return Fault::unavailable;
    }
    return Fault::internal;
}

const Reply* first_error(const std::vector<Reply>& replies) {
    for (const Reply& reply : replies) {
        if (reply.is_error()) return &reply;
    }
    return nullptr;
}

Reply from_hiredis(const redisReply& source) {
    const std::optional<Reply::Kind> kind = kind_of(source.type);
    if (!kind) return make_error("ERR unknown hiredis reply type " + std::to_string(source.type));
    Reply reply;
    reply.kind = *kind;
    if (reply.kind == Reply::Kind::integer) reply.integer = source.integer;
    if (has_text(reply.kind) && source.str != nullptr) reply.text.assign(source.str, source.len);
    if (reply.kind == Reply::Kind::array) {
        reply.elements.reserve(source.elements);
        for (std::size_t i = 0; i < source.elements; i++) {
            TF_ASSERT(source.element[i] != nullptr);
            reply.elements.push_back(from_hiredis(*source.element[i]));
        }
    }
    return reply;
}

std::string describe(const Reply& reply) {
    switch (reply.kind) {
        case Reply::Kind::nil: return "nil";
        case Reply::Kind::integer: return "integer " + std::to_string(reply.integer);
        case Reply::Kind::array: return "array of " + std::to_string(reply.elements.size());
        case Reply::Kind::status: return "status \"" + reply.text + "\"";
        case Reply::Kind::string: return "string of " + std::to_string(reply.text.size());
        case Reply::Kind::error: break;
    }
    return "error \"" + reply.text.substr(0, describe_text_bytes_max) + "\"";
}

}  // namespace tigerfans::sessions::redis

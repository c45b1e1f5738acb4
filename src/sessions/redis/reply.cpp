// Building Redis replies as plain values inside hiredis' reader, and reading them back safely.
#include "sessions/redis/reply.hpp"

#include <hiredis/hiredis.h>

#include <new>
#include <type_traits>
#include <utility>

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

// What hiredis holds of a reply: its root. hiredis' async layer reads an error that no command
// waits for (Redis refusing a connection) as a redisReply, its type and text, before it
// disconnects, so every root starts with one, filled with those. (It would read a pub/sub
// message's elements there too: a context that subscribes or monitors must not use these
// functions. The client does neither.) The tree itself is `value`: an array's elements are
// Replies in its `elements`, sized when the array's header arrives (72 bytes each at once, where
// hiredis' own objects take a pointer each; Redis is a trusted peer), so the pointers hiredis
// keeps to arrays still being read stay valid, and hiredis frees (freeObject) only roots.
struct Root {
    redisReply head{};
    Reply value;
};
static_assert(std::is_standard_layout_v<Root>, "a Root and its head share one address");

// The Reply a read task fills, and the object hiredis keeps for it: a new Root (so hiredis' view
// of it as a redisReply reads `head`), or the element's slot in its parent array. Empty when out
// of memory, which hiredis reports as a reader error (freeing the root read so far).
struct Placed {
    Reply* reply = nullptr;
    void* object = nullptr;
};

Placed place(const redisReadTask* task, int hiredis_type) {
    const std::optional<Reply::Kind> known = kind_of(hiredis_type);
    TF_ASSERT(known.has_value());  // hiredis 0.14 makes no other types.
    const Reply::Kind kind = *known;
    if (task->parent == nullptr) {
        Root* root = new (std::nothrow) Root;
        if (root == nullptr) return {};
        root->head.type = hiredis_type;
        root->value.kind = kind;
        return {&root->value, root};
    }
    void* parent_object = task->parent->obj;
    // The parent task of a root's elements is the root's: its object is a Root.
    Reply& parent = task->parent->parent == nullptr ? static_cast<Root*>(parent_object)->value
                                                    : *static_cast<Reply*>(parent_object);
    TF_ASSERT(parent.kind == Reply::Kind::array);
    TF_ASSERT(task->idx >= 0 && static_cast<std::size_t>(task->idx) < parent.elements.size());
    Reply& slot = parent.elements[static_cast<std::size_t>(task->idx)];
    slot.kind = kind;
    return {&slot, &slot};
}

// Gives back a root whose filling failed (an element's slot belongs to its parent).
void* unplace(const redisReadTask* task, const Placed& placed) {
    if (task->parent == nullptr) delete static_cast<Root*>(placed.object);
    return nullptr;
}

// hiredis calls these from C frames: nothing may unwind through them (noexcept terminates).
void* create_string(const redisReadTask* task, char* text, size_t length) noexcept {
    const Placed placed = place(task, task->type);
    if (placed.reply == nullptr) return nullptr;
    // hiredis asks only for strings, statuses and errors here.
    TF_ASSERT(has_text(placed.reply->kind));
    try {
        placed.reply->text.assign(text, length);
    } catch (const std::bad_alloc&) {
        return unplace(task, placed);
    }
    if (task->parent == nullptr) {
        Root& root = *static_cast<Root*>(placed.object);
        root.head.str = root.value.text.data();
        root.head.len = root.value.text.size();
    }
    return placed.object;
}

void* create_array(const redisReadTask* task, int elements) noexcept {
    TF_ASSERT_GE(elements, 0);  // hiredis reads "*-1" as nil.
    const Placed placed = place(task, REDIS_REPLY_ARRAY);
    if (placed.reply == nullptr) return nullptr;
    try {
        placed.reply->elements.resize(static_cast<std::size_t>(elements));
    } catch (const std::bad_alloc&) {
        return unplace(task, placed);
    }
    return placed.object;
}

void* create_integer(const redisReadTask* task, long long value) noexcept {
    const Placed placed = place(task, REDIS_REPLY_INTEGER);
    if (placed.reply != nullptr) placed.reply->integer = value;
    return placed.object;
}

void* create_nil(const redisReadTask* task) noexcept { return place(task, REDIS_REPLY_NIL).object; }

void free_root(void* root) noexcept { delete static_cast<Root*>(root); }

redisReplyObjectFunctions built_replies = {create_string, create_array, create_integer, create_nil,
                                           free_root};

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

Fault fault_of(const Reply& reply) {
    const std::string_view code = reply.error_code();
    if (code == "OOM") return Fault::overloaded;
    for (std::string_view transient :
         {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "MISCONF", "NOREPLICAS"}) {
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

redisReplyObjectFunctions* reply_functions() { return &built_replies; }

Reply take_reply(void* root) {
    TF_ASSERT(root != nullptr);
    Root& built = *static_cast<Root*>(root);
    built.head.str = nullptr;  // It pointed into the text moved out here.
    built.head.len = 0;
    return std::move(built.value);
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

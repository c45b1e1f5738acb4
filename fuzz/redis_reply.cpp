// Fuzz target: bytes from Redis, read by hiredis' protocol reader as the client's connection
// reads them, building Reply trees through reply_functions(); each reply must equal the one
// hiredis' own objects make of the same bytes, and is then read the ways the session store reads
// its answers: gate answers, integers, error codes and faults, descriptions, arrays of strings and
// MULTI/EXEC errors, and session hashes, which written back must read the same. Input cut off
// mid-reply leaves a partly built tree for the reader to free.
#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "require.hpp"
#include "sessions/redis/codec.hpp"
#include "sessions/redis/reply.hpp"

namespace {

using namespace tigerfans::sessions::redis;
using tigerfans::fuzz::require;

// Redis is the server's own, trusted peer, and both readers allocate the element count an array
// header declares before any element arrives (hiredis' own objects a pointer each, the built
// Reply trees a whole Reply each): inputs declaring more elements than a store reply holds are
// not fed, so that a fuzzed count does not ask for gigabytes.
constexpr long long array_elements_max = 4096;

bool declares_huge_array(std::string_view bytes) {
    for (std::size_t star = bytes.find('*'); star != std::string_view::npos;
         star = bytes.find('*', star + 1)) {
        long long count = 0;
        const auto [end, error] =
            std::from_chars(bytes.data() + star + 1, bytes.data() + bytes.size(), count);
        if (error == std::errc::result_out_of_range || count > array_elements_max) return true;
    }
    return false;
}

using ReaderPtr = std::unique_ptr<redisReader, decltype(&redisReaderFree)>;
using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

void check_session_hash(Reply hash) {
    const std::optional<std::vector<std::string>> fields = hash.take_strings();
    if (!fields || fields->empty()) return;
    const std::optional<tigerfans::sessions::PaymentSession> session = decode_session(*fields);
    if (!session) return;
    const std::vector<std::string> written = encode_session(*session);
    const auto again = decode_session(written);
    require(again.has_value() && encode_session(*again) == written,
            "a session read back from its own hash is the same session");
}

// The reply hiredis' own reader made of the same bytes, element by element.
bool same(const redisReply& theirs, const Reply& ours) {
    switch (theirs.type) {
        case REDIS_REPLY_NIL: return ours.kind == Reply::Kind::nil;
        case REDIS_REPLY_INTEGER:
            return ours.kind == Reply::Kind::integer && ours.integer == theirs.integer;
        case REDIS_REPLY_STRING:
        case REDIS_REPLY_STATUS:
        case REDIS_REPLY_ERROR: {
            const Reply::Kind kind = theirs.type == REDIS_REPLY_STRING   ? Reply::Kind::string
                                     : theirs.type == REDIS_REPLY_STATUS ? Reply::Kind::status
                                                                         : Reply::Kind::error;
            return ours.kind == kind && ours.text == std::string_view(theirs.str, theirs.len);
        }
        case REDIS_REPLY_ARRAY:
            if (ours.kind != Reply::Kind::array || ours.elements.size() != theirs.elements) {
                return false;
            }
            for (std::size_t i = 0; i < theirs.elements; i++) {
                if (!same(*theirs.element[i], ours.elements[i])) return false;
            }
            return true;
    }
    return false;
}

void check_reply(const Reply& reply) {
    if (const auto gate = decode_gate_answer(reply)) {
        require(gate->state != tigerfans::sessions::GateState::done || !gate->done_status.empty(),
                "a done gate carries the order's status");
    }
    require(reply.as_integer().has_value() == (reply.kind == Reply::Kind::integer),
            "only integers read as integers");
    require(reply.error_code().size() <= reply.text.size(), "an error code is part of the text");
    fault_of(reply);
    describe(reply);
    if (const Reply* error = first_error(reply.elements)) {
        require(error->is_error(), "the first error is an error");
    }
    const auto strings = reply.as_strings();
    require(!strings || strings->size() == reply.elements.size(), "every element is a string");
    check_session_hash(reply);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (declares_huge_array(bytes)) return 0;
    redisReplyObjectFunctions* functions = reply_functions();
    const ReaderPtr reader(redisReaderCreateWithFunctions(functions), &redisReaderFree);
    const ReaderPtr theirs(redisReaderCreate(), &redisReaderFree);
    if (redisReaderFeed(reader.get(), bytes.data(), bytes.size()) != REDIS_OK ||
        redisReaderFeed(theirs.get(), bytes.data(), bytes.size()) != REDIS_OK) {
        return 0;
    }
    while (true) {
        void* raw = nullptr;
        void* their_raw = nullptr;
        const int read = redisReaderGetReply(reader.get(), &raw);
        const int their_read = redisReaderGetReply(theirs.get(), &their_raw);
        const ReplyPtr their_reply(static_cast<redisReply*>(their_raw), &freeReplyObject);
        require(read == their_read && (raw == nullptr) == (their_raw == nullptr),
                "the built reader reads exactly what hiredis' own reader reads");
        if (read != REDIS_OK || raw == nullptr) return 0;
        Reply reply = take_reply(raw);
        functions->freeObject(raw);
        require(same(*their_reply, reply), "a built reply equals hiredis' own");
        check_reply(reply);
    }
}

// Fuzz target: bytes from Redis, read by hiredis' protocol reader as the client's connection
// reads them, each reply copied with from_hiredis and then read the ways the session store
// reads its answers: gate answers, integers, error codes and faults, descriptions, arrays of
// strings and MULTI/EXEC errors, and session hashes, which written back must read the same.
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

// Redis is the server's own, trusted peer, and hiredis 0.14 allocates the element count an
// array header declares before any element arrives: inputs declaring more elements than a
// store reply holds are not fed, so that a fuzzed count does not ask for gigabytes.
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
    const ReaderPtr reader(redisReaderCreate(), &redisReaderFree);
    if (redisReaderFeed(reader.get(), bytes.data(), bytes.size()) != REDIS_OK) {
        return 0;
    }
    while (true) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK || raw == nullptr) return 0;
        const ReplyPtr reply(static_cast<redisReply*>(raw), &freeReplyObject);
        check_reply(from_hiredis(*reply));
    }
}

// The Redis session codec: a payment session to HSET's field/value pairs and back from
// HGETALL's flat list, and the keys of the store; the session's HSET in wire format, as the
// client writes it and as hiredis' own formatter would; and the session's HGETALL answer read
// by hiredis' reader, into Reply trees as the client reads it and into hiredis' own objects
// (which the client used to copy into Reply trees).
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "sessions/redis/codec.hpp"
#include "sessions/redis/reply.hpp"
#include "sessions/redis/wire.hpp"

namespace {

using namespace tigerfans;
using namespace tigerfans::sessions;

// A session as checkout stores it: realistic ids, an order of class A with its goodie.
PaymentSession sample_session() {
    const u128 ticket_hold_id = make_u128(0x0195a3c4e1f27b8d, 0x9c0a4b6e8f1d2c3a);
    return PaymentSession{.psid = "mock_9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c",
                          .order_id = "0195a3c4e1f27b8d9c0a4b6e8f1d2c3a",
                          .cls = TicketClass::a,
                          .customer_email = "fan-17@example.com",
                          .ticket_hold_id = ticket_hold_id,
                          .goodie_hold_id = ticket_hold_id + 1,
                          .goodie_held = true,
                          .amount_cents = 6500,
                          .currency = "eur",
                          .created_at_us = 1'790'000'000'123'456};
}

void redis_encode_session(benchmark::State& state) {
    const PaymentSession session = sample_session();
    for (auto _ : state) {
        std::vector<std::string> pairs = redis::encode_session(session);
        benchmark::DoNotOptimize(pairs.data());
    }
}
BENCHMARK(redis_encode_session);

void redis_decode_session(benchmark::State& state) {
    const std::vector<std::string> pairs = redis::encode_session(sample_session());
    for (auto _ : state) {
        auto session = redis::decode_session(pairs);
        if (!session) state.SkipWithError("the encoded session did not decode");
        benchmark::DoNotOptimize(session);
    }
}
BENCHMARK(redis_decode_session);

void redis_session_key(benchmark::State& state) {
    const std::string psid = sample_session().psid;
    for (auto _ : state) {
        std::string key = redis::session_key(psid);
        benchmark::DoNotOptimize(key.data());
    }
}
BENCHMARK(redis_session_key);

std::vector<std::string> session_hset() {
    const PaymentSession session = sample_session();
    std::vector<std::string> command = {"HSET", redis::session_key(session.psid)};
    for (std::string& part : redis::encode_session(session)) command.push_back(std::move(part));
    return command;
}

void redis_command_wire(benchmark::State& state) {
    const std::vector<std::string> command = session_hset();
    std::string out;
    for (auto _ : state) {
        out.clear();
        redis::append_command(command, out);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(redis_command_wire);

void redis_command_hiredis(benchmark::State& state) {
    const std::vector<std::string> command = session_hset();
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const std::string& argument : command) {
        argv.push_back(argument.data());
        lengths.push_back(argument.size());
    }
    for (auto _ : state) {
        char* formatted = nullptr;
        const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()),
                                                  argv.data(), lengths.data());
        if (length <= 0) state.SkipWithError("hiredis did not format the command");
        benchmark::DoNotOptimize(formatted);
        std::free(formatted);
    }
}
BENCHMARK(redis_command_hiredis);

// The session's HGETALL answer as Redis sends it.
std::string session_hgetall_answer() {
    const std::vector<std::string> pairs = redis::encode_session(sample_session());
    std::string resp = "*" + std::to_string(pairs.size()) + "\r\n";
    for (const std::string& part : pairs) {
        resp += "$" + std::to_string(part.size()) + "\r\n" + part + "\r\n";
    }
    return resp;
}

using ReaderPtr = std::unique_ptr<redisReader, decltype(&redisReaderFree)>;

// Feeds one answer to a reader and hands what it read to `use`, which frees it.
template <typename Use>
void read_answers(benchmark::State& state, redisReader* reader, Use use) {
    const std::string answer = session_hgetall_answer();
    for (auto _ : state) {
        void* read = nullptr;
        if (redisReaderFeed(reader, answer.data(), answer.size()) != REDIS_OK ||
            redisReaderGetReply(reader, &read) != REDIS_OK || read == nullptr) {
            state.SkipWithError("hiredis did not read the answer");
            break;
        }
        use(read);
    }
}

void redis_read_hgetall_built(benchmark::State& state) {
    redisReplyObjectFunctions* functions = redis::reply_functions();
    const ReaderPtr reader(redisReaderCreateWithFunctions(functions), &redisReaderFree);
    read_answers(state, reader.get(), [functions](void* read) {
        redis::Reply reply = redis::take_reply(read);
        functions->freeObject(read);
        benchmark::DoNotOptimize(reply.elements.data());
    });
}
BENCHMARK(redis_read_hgetall_built);

void redis_read_hgetall_hiredis(benchmark::State& state) {
    const ReaderPtr reader(redisReaderCreate(), &redisReaderFree);
    read_answers(state, reader.get(), [](void* read) {
        benchmark::DoNotOptimize(static_cast<redisReply*>(read)->element);
        freeReplyObject(read);
    });
}
BENCHMARK(redis_read_hgetall_hiredis);

}  // namespace

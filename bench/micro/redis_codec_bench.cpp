// The Redis session codec: a payment session to HSET's field/value pairs and back from
// HGETALL's flat list, and the keys of the store.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "sessions/redis/codec.hpp"

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

}  // namespace

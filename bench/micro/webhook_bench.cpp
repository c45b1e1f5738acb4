// The webhook's signature check: HMAC-SHA256 of the event's exact bytes and its base64, alone
// and as verify_webhook runs it (the signature, then the event's JSON and every field).
#include <benchmark/benchmark.h>

#include <string>
#include <variant>

#include "tigerfans/flows/webhook.hpp"
#include "tigerfans/mockpay/event.hpp"

namespace {

using namespace tigerfans;

constexpr std::string_view secret = "bench-secret";

std::string signed_event_body() {
    mockpay::PaymentEvent event;
    event.payment_session_id = "mock_9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c";
    event.order_id = "0195a3c4e1f27b8d9c0a4b6e8f1d2c3a";
    event.amount_cents = 6500;
    event.currency = "eur";
    event.created_at_s = 1'790'000'000;
    event.idempotency_key = "evt_1b3d5f7a9c9f2c4e6a8b0d1f3e5a7c9e";
    return mockpay::event_json(event);
}

void webhook_signature(benchmark::State& state) {
    const std::string body = signed_event_body();
    for (auto _ : state) {
        std::string signature = mockpay::signature(secret, body);
        benchmark::DoNotOptimize(signature.data());
    }
}
BENCHMARK(webhook_signature);

void webhook_verify(benchmark::State& state) {
    const std::string body = signed_event_body();
    const std::string signature = mockpay::signature(secret, body);
    for (auto _ : state) {
        auto verified = flows::verify_webhook(secret, body, signature);
        if (!std::holds_alternative<flows::WebhookEvent>(verified)) {
            state.SkipWithError("the signed event was refused");
        }
        benchmark::DoNotOptimize(verified);
    }
}
BENCHMARK(webhook_verify);

void webhook_verify_bad_signature(benchmark::State& state) {
    const std::string body = signed_event_body();
    const std::string signature = mockpay::signature("another-secret", body);
    for (auto _ : state) {
        auto verified = flows::verify_webhook(secret, body, signature);
        benchmark::DoNotOptimize(verified);
    }
}
BENCHMARK(webhook_verify_bad_signature);

}  // namespace

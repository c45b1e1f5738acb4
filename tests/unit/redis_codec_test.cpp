// Payment sessions as Redis hash fields: a full round trip (128-bit ids included), the key
// names the store uses, and refusal of hashes that are incomplete or malformed.
#include "sessions/redis/codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/session_expectations.hpp"

namespace tigerfans::sessions::redis {
namespace {

PaymentSession sample_session() {
    PaymentSession session;
    session.psid = "ps_0123456789abcdef";
    session.order_id = "ord-42";
    session.cls = TicketClass::b;
    session.customer_email = "fan@example.com";
    session.ticket_hold_id = u128_max - 7;
    session.goodie_hold_id = make_u128(1, 2);
    session.goodie_held = true;
    session.amount_cents = 3500;
    session.currency = "eur";
    session.created_at_us = 1'700'000'000'123'456;
    return session;
}

// Replaces the value of `field` in a flat field/value list.
void set_field(std::vector<std::string>& fields, std::string_view field, std::string value) {
    const auto name = std::find(fields.begin(), fields.end(), field);
    ASSERT_NE(name, fields.end());
    *(name + 1) = std::move(value);
}

// Every field survives encode then decode, including ids near 2^128.
TEST(RedisCodec, RoundTripsASession) {
    const PaymentSession session = sample_session();
    const std::optional<PaymentSession> decoded = decode_session(encode_session(session));
    ASSERT_TRUE(decoded.has_value());
    testing::expect_same_session(*decoded, session);
}

// Ids are decimal text and created_at_us a plain integer, readable with redis-cli.
TEST(RedisCodec, StoresIdsAsDecimalTextAndTimesAsIntegers) {
    const std::vector<std::string> fields = encode_session(sample_session());
    const auto value_of = [&](std::string_view field) {
        const auto name = std::find(fields.begin(), fields.end(), field);
        return name == fields.end() ? std::string() : *(name + 1);
    };
    EXPECT_EQ(value_of("ticket_hold_id"), "340282366920938463463374607431768211448");
    EXPECT_EQ(value_of("goodie_hold_id"), "18446744073709551618");
    EXPECT_EQ(value_of("created_at_us"), "1700000000123456");
    EXPECT_EQ(value_of("cls"), "B");
    EXPECT_EQ(value_of("goodie_held"), "1");
}

// Field order in the hash does not matter (HGETALL does not promise any).
TEST(RedisCodec, DecodesFieldsInAnyOrder) {
    std::vector<std::string> fields = encode_session(sample_session());
    std::vector<std::string> reversed;
    for (std::size_t i = fields.size(); i >= 2; i -= 2) {
        reversed.push_back(fields[i - 2]);
        reversed.push_back(fields[i - 1]);
    }
    const std::optional<PaymentSession> decoded = decode_session(reversed);
    ASSERT_TRUE(decoded.has_value());
    testing::expect_same_session(*decoded, sample_session());
}

// A hash missing any one field is refused rather than half-read.
TEST(RedisCodec, RefusesAHashMissingAnyField) {
    const std::vector<std::string> fields = encode_session(sample_session());
    for (std::size_t i = 0; i < fields.size(); i += 2) {
        std::vector<std::string> partial = fields;
        partial.erase(partial.begin() + static_cast<std::ptrdiff_t>(i),
                      partial.begin() + static_cast<std::ptrdiff_t>(i + 2));
        EXPECT_FALSE(decode_session(partial).has_value()) << "without " << fields[i];
    }
}

// Malformed values (bad class, id, flag or number, odd list) are refused.
TEST(RedisCodec, RefusesMalformedValues) {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"cls", "C"},           {"ticket_hold_id", "-1"},  {"goodie_hold_id", "0x10"},
        {"goodie_held", "yes"}, {"amount_cents", "35.00"}, {"created_at_us", ""}};
    for (const auto& [field, value] : bad) {
        std::vector<std::string> fields = encode_session(sample_session());
        set_field(fields, field, value);
        EXPECT_FALSE(decode_session(fields).has_value()) << field << "=" << value;
    }
    std::vector<std::string> odd = encode_session(sample_session());
    odd.push_back("dangling");
    EXPECT_FALSE(decode_session(odd).has_value());
}

// A seat order's session carries its seats and their holds; a class session has neither field,
// as before seating, and a session written before seating reads as a class session.
TEST(RedisCodec, RoundTripsTheSeatsOfASeatOrder) {
    PaymentSession session = sample_session();
    const std::vector<std::string> class_fields = encode_session(session);
    EXPECT_EQ(std::count(class_fields.begin(), class_fields.end(), "seats"), 0);
    session.seats = {3, 4, 90'000};
    session.seat_hold_ids = {u128_max - 1, 7, make_u128(1, 0)};
    const std::vector<std::string> fields = encode_session(session);
    const std::optional<PaymentSession> decoded = decode_session(fields);
    ASSERT_TRUE(decoded.has_value());
    testing::expect_same_session(*decoded, session);

    const std::vector<std::pair<std::string, std::string>> bad = {
        {"seats", ""},      {"seats", "3,4"},      {"seats", "3,,4"},
        {"seats", "3,4,x"}, {"seat_holds", "1,2"}, {"seat_holds", "1,2,-3"}};
    for (const auto& [field, value] : bad) {
        std::vector<std::string> changed = fields;
        set_field(changed, field, value);
        EXPECT_FALSE(decode_session(changed).has_value()) << field << "=" << value;
    }
    std::vector<std::string> without_holds = fields;
    without_holds.resize(without_holds.size() - 2);  // seat_holds is written last.
    EXPECT_FALSE(decode_session(without_holds).has_value());
}

// The gate script's answers: {0, ""} leased, {1, ""} busy, {2, status} done; anything else
// (a foreign value, an empty status) is refused rather than guessed.
TEST(RedisCodec, DecodesTheGateAnswers) {
    auto answer = [](std::int64_t code, std::string status) {
        Reply reply{Reply::Kind::array};
        reply.elements.push_back(Reply{Reply::Kind::integer, code});
        reply.elements.push_back(Reply{Reply::Kind::string, 0, std::move(status)});
        return reply;
    };
    EXPECT_EQ(decode_gate_answer(answer(0, ""))->state, GateState::leased);
    EXPECT_EQ(decode_gate_answer(answer(1, ""))->state, GateState::busy);
    const std::optional<GateAnswer> done = decode_gate_answer(answer(2, "PAID"));
    ASSERT_TRUE(done);
    EXPECT_EQ(done->state, GateState::done);
    EXPECT_EQ(done->done_status, "PAID");
    EXPECT_FALSE(decode_gate_answer(answer(2, "")));
    EXPECT_FALSE(decode_gate_answer(answer(3, "")));
    EXPECT_FALSE(decode_gate_answer(Reply{Reply::Kind::integer, 1}));
}

// Key names follow the layout documented for operators.
TEST(RedisCodec, NamesKeysByPurpose) {
    EXPECT_EQ(session_key("abc"), "ps:abc");
    EXPECT_EQ(gate_key("abc"), "gate:abc");
    EXPECT_EQ(checkout_key("abc"), "ckey:abc");
    EXPECT_EQ(pending_index_key, "pendings");
    EXPECT_EQ(gate_lease_mark("t1"), "lease:t1");
    EXPECT_EQ(gate_done_mark("PAID"), "done:PAID");
}

// A checkout key's record round-trips: a lease answers busy with its fingerprint, a done
// record its answer, whatever the body holds; anything else is refused.
TEST(RedisCodec, EncodesAndDecodesCheckoutKeyRecords) {
    KeyClaim claim;
    claim.key_id = "k";
    claim.fingerprint = "f00d";
    claim.token = "lease_1";
    EXPECT_EQ(key_lease_record(claim), "lease:f00d:lease_1");
    const std::optional<KeyAnswer> busy = decode_key_record(key_lease_record(claim));
    ASSERT_TRUE(busy);
    EXPECT_EQ(busy->state, KeyState::busy);
    EXPECT_EQ(busy->fingerprint, "f00d");
    const std::string body = R"({"a":"b:c","d":1})";
    const std::optional<KeyAnswer> done = decode_key_record(key_done_record(claim, 409, body));
    ASSERT_TRUE(done);
    EXPECT_EQ(done->state, KeyState::done);
    EXPECT_EQ(done->fingerprint, "f00d");
    EXPECT_EQ(done->status, 409u);
    EXPECT_EQ(done->body, body);
    for (const char* foreign :
         {"", "lease", "done:f00d", "done:f00d:2x:{}", "done:f00d:99:{}", "other:f00d:200:{}"}) {
        EXPECT_FALSE(decode_key_record(foreign)) << foreign;
    }
}

}  // namespace
}  // namespace tigerfans::sessions::redis

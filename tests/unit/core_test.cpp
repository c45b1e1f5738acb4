// Core helpers: 128-bit id text forms, time-based and derived ids, HMAC/base64, clock text.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/crash_points.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/u128.hpp"

namespace tigerfans {
namespace {

// Decimal is the wire form of transfer ids; it must survive the full 128-bit range.
TEST(U128, DecimalRoundTripsAtTheEdgesAndRejectsOverflow) {
    EXPECT_EQ(u128_to_decimal(0), "0");
    EXPECT_EQ(u128_to_decimal(u128_max), "340282366920938463463374607431768211455");
    EXPECT_EQ(u128_from_decimal("340282366920938463463374607431768211455"), u128_max);
    EXPECT_FALSE(u128_from_decimal("340282366920938463463374607431768211456"));
    EXPECT_FALSE(u128_from_decimal("340282366920938463463374607431768211460"));
    EXPECT_FALSE(u128_from_decimal("340282366920938463463374607431768211500"));
    EXPECT_FALSE(u128_from_decimal("999999999999999999999999999999999999999"));
    EXPECT_EQ(u128_from_decimal("340282366920938463463374607431768211449"), u128_max - 6);
    EXPECT_FALSE(u128_from_decimal(""));
    EXPECT_FALSE(u128_from_decimal("12a"));
    EXPECT_FALSE(u128_from_decimal("-1"));
    const u128 value = make_u128(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
    EXPECT_EQ(u128_from_decimal(u128_to_decimal(value)), value);
}

// The fast form (three 64-bit parts) against the digit-by-digit definition, at the part
// boundaries where zero padding matters and at random values.
TEST(U128, DecimalMatchesDigitByDigitAtPartBoundaries) {
    const auto reference = [](u128 value) {
        std::string digits;
        do {
            digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
            value /= 10;
        } while (value != 0);
        return digits;
    };
    const u128 ten_to_19 = 10'000'000'000'000'000'000ull;
    std::vector<u128> values = {1,
                                9,
                                ten_to_19 - 1,
                                ten_to_19,
                                ten_to_19 + 1,
                                u128{UINT64_MAX},
                                u128{UINT64_MAX} + 1,
                                ten_to_19 * ten_to_19 - 1,
                                ten_to_19 * ten_to_19,
                                ten_to_19 * ten_to_19 + 7,
                                u128_max - 1};
    for (int i = 0; i < 1000; i++) values.push_back(random_u128() >> (i % 128));
    for (const u128 value : values) {
        EXPECT_EQ(u128_to_decimal(value), reference(value));
        char digits[u128_decimal_digits_max];
        EXPECT_EQ(std::string(digits, u128_to_decimal(value, digits)), reference(value));
    }
}

TEST(U128, HexIsAlwaysThirtyTwoDigits) {
    EXPECT_EQ(u128_to_hex(1), "00000000000000000000000000000001");
    EXPECT_EQ(u128_from_hex("0000000000000000000000000000000A"), u128{10});
    EXPECT_FALSE(u128_from_hex("abc"));
    EXPECT_FALSE(u128_from_hex("0000000000000000000000000000000g"));
}

// Ids sort by creation and never repeat, even many per millisecond.
TEST(IdGenerator, IdsAreStrictlyIncreasingAndCarryTheCurrentTime) {
    IdGenerator ids;
    u128 previous = 0;
    for (int i = 0; i < 100000; i++) {
        const u128 id = ids.next();
        ASSERT_GT(id, previous);
        previous = id;
    }
    const std::uint64_t ms = static_cast<std::uint64_t>(previous >> 80);
    const std::uint64_t now_ms = static_cast<std::uint64_t>(unix_now_us() / 1000);
    EXPECT_LE(ms, now_ms + 1000);
    EXPECT_GE(ms + 60'000, now_ms);
}

// Post, void and late-booking ids differ from each other and from any generated id.
TEST(DeriveId, DerivedIdsAreDistinctPerKindAndStable) {
    IdGenerator ids;
    const u128 hold = ids.next();
    const u128 post = derive_id(hold, Derivation::post);
    const u128 void_id = derive_id(hold, Derivation::void_);
    const u128 late = derive_id(hold, Derivation::late_booking);
    EXPECT_EQ(std::set<u128>({hold, post, void_id, late}).size(), 4u);
    EXPECT_EQ(post, derive_id(hold, Derivation::post));
    EXPECT_EQ(hold >> 124, 0u);  // Generated ids leave the kind bits clear.
}

TEST(Tokens, TicketCodesAndSessionIdsHaveTheirShape) {
    const std::string code = new_ticket_code();
    ASSERT_EQ(code.size(), 14u);
    EXPECT_EQ(code.substr(0, 4), "TCK-");
    EXPECT_EQ(code.find_first_of("01IO", 4), std::string::npos);
    EXPECT_TRUE(new_payment_session_id().starts_with("mock_"));
    EXPECT_EQ(new_payment_session_id().size(), 37u);
    EXPECT_NE(new_event_key(), new_event_key());
}

namespace {
std::string hex_of(std::string_view bytes) {
    std::string hex;
    for (unsigned char byte : bytes) {
        static constexpr char digits[] = "0123456789abcdef";
        hex += digits[byte >> 4];
        hex += digits[byte & 0xF];
    }
    return hex;
}
}  // namespace

// RFC 4231 test case 2 ("Jefe"), and its base64 form as MockPay sends it.
TEST(Crypto, HmacSha256MatchesTheRfcVector) {
    const std::string mac = hmac_sha256("Jefe", "what do ya want for nothing?");
    EXPECT_EQ(hex_of(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(base64_encode(mac), "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
}

// The MAC keeps the last key's context: alternating keys (and an empty one) must each give
// their own MAC, RFC 4231 test cases 1 and 2 and the empty key's MAC of nothing.
TEST(Crypto, HmacSha256FollowsEachCallsKey) {
    const std::string key_1(20, '\x0b');
    for (int round = 0; round < 2; round++) {
        EXPECT_EQ(hex_of(hmac_sha256(key_1, "Hi There")),
                  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        EXPECT_EQ(hex_of(hmac_sha256(key_1, "Hi There")),
                  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        EXPECT_EQ(hex_of(hmac_sha256("Jefe", "what do ya want for nothing?")),
                  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        EXPECT_EQ(hex_of(hmac_sha256("", "")),
                  "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    }
}

TEST(Crypto, Base64RoundTripsAndRejectsGarbage) {
    for (std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        EXPECT_EQ(base64_decode(base64_encode(text)), text);
        EXPECT_EQ(base64url_decode(base64url_encode(text)), text);
    }
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_FALSE(base64_decode("Zm9v*mFy"));
    EXPECT_FALSE(base64_decode("Zm9"));
}

TEST(Crypto, ConstantTimeEqualComparesContentAndLength) {
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Clock, IsoTextRoundTrips) {
    const std::int64_t when_us = 1764757530123456;  // 2025-12-03T10:25:30.123456Z
    EXPECT_EQ(iso8601_utc(when_us), "2025-12-03T10:25:30.123456+00:00");
    EXPECT_EQ(parse_iso8601_utc(iso8601_utc(when_us)), when_us);
    EXPECT_EQ(parse_iso8601_utc("2025-12-03 10:25:30.123456+00"), when_us);
    EXPECT_FALSE(parse_iso8601_utc("yesterday"));
}

// TIGERFANS_CRASH_AT names only points that exist, with a count of at least one.
TEST(CrashPoints, ArmingRejectsUnknownPointsAndBadCounts) {
    EXPECT_FALSE(crash::arm(""));
    EXPECT_FALSE(crash::arm("webhook.after_insert:3,orders.mid_commit:1"));
    EXPECT_TRUE(crash::arm("webhook.nowhere:3"));
    EXPECT_TRUE(crash::arm("webhook.after_insert"));
    EXPECT_TRUE(crash::arm("webhook.after_insert:0"));
    EXPECT_TRUE(crash::arm("webhook.after_insert:x"));
    EXPECT_FALSE(crash::arm(""));          // Disarmed again for the other tests.
    crash::point("webhook.after_insert");  // Disarmed: nothing happens.
}

// The n-th pass dies by SIGKILL, as kill -9 would; the passes before it return.
TEST(CrashPointsDeathTest, TheArmedPassDiesAsKillMinusNine) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            crash::arm("webhook.after_insert:3");
            crash::point("webhook.after_insert");
            crash::point("webhook.after_lease");
            crash::point("webhook.after_insert");
            std::fprintf(stderr, "survived two passes\n");
            crash::point("webhook.after_insert");
            std::fprintf(stderr, "survived the third\n");
            std::exit(0);
        },
        ::testing::KilledBySignal(SIGKILL), "survived two passes");
}

}  // namespace
}  // namespace tigerfans

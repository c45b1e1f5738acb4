// The always-on assertions: silent when the condition holds, each operand evaluated once, and on
// failure one line naming the expression, file:line and the values, then abort. This file is
// compiled with NDEBUG defined, so the asserts are shown to ignore it.
#define NDEBUG 1

#include "tigerfans/core/assert.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tigerfans/core/result.hpp"
#include "tigerfans/core/ticket.hpp"
#include "tigerfans/core/u128.hpp"

#ifndef NDEBUG
#error "this test must be compiled with NDEBUG defined"
#endif

namespace tigerfans {
namespace {

enum class Colour : std::uint8_t { red = 1, blue = 2 };

struct Point {
    int x = 0;
    int y = 0;
    bool operator==(const Point&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Point& point) {
    return out << "(" << point.x << ", " << point.y << ")";
}

TEST(Assert, PassesSilentlyAndEvaluatesEachOperandOnce) {
    int calls = 0;
    const auto next = [&calls] { return ++calls; };
    TF_ASSERT(next() == 1);
    TF_ASSERT_EQ(next(), 2);
    TF_ASSERT_LT(next(), 4);
    TF_ASSERT_GE(next(), 4);
    TF_ASSERT_NE(next(), 0);
    TF_ASSERT_LE(next(), 6);
    TF_ASSERT_GT(next(), 6);
    EXPECT_EQ(calls, 7);
}

TEST(Assert, MessagePartsAreEvaluatedOnlyOnFailure) {
    int built = 0;
    const auto expensive = [&built] {
        built++;
        return std::string("detail");
    };
    TF_ASSERT_MSG(built == 0, "never shown: ", expensive());
    EXPECT_EQ(built, 0);
}

TEST(AssertDeathTest, NamesTheExpressionAndWhereItFailed) {
    const int one = 1;
    EXPECT_DEATH(TF_ASSERT(one + one == 3),
                 "assert_test\\.cpp:[0-9]+: assertion failed: one \\+ one == 3\n");
}

TEST(AssertDeathTest, AComparisonShowsBothValues) {
    const std::int64_t amount_cents = 3500;
    EXPECT_DEATH(TF_ASSERT_EQ(amount_cents, price_cents(TicketClass::a)),
                 "assertion failed: amount_cents == price_cents\\(TicketClass::a\\) "
                 "\\(left 3500, right 6500\\)");
}

TEST(AssertDeathTest, ValuesOfEveryKindArePrinted) {
    const std::string id = "a1b2";
    EXPECT_DEATH(TF_ASSERT_EQ(id, std::string("c3d4")), "\\(left \"a1b2\", right \"c3d4\"\\)");
    EXPECT_DEATH(TF_ASSERT_EQ(u128_max, u128{7}),
                 "\\(left 0xffffffffffffffffffffffffffffffff, right 7\\)");
    EXPECT_DEATH(TF_ASSERT_EQ(Colour::red, Colour::blue), "\\(left 1, right 2\\)");
    EXPECT_DEATH(TF_ASSERT_NE(true, true), "\\(left true, right true\\)");
    EXPECT_DEATH(TF_ASSERT_EQ((Point{1, 2}), (Point{3, 4})),
                 "\\(left \\(1, 2\\), right \\(3, 4\\)\\)");
}

TEST(AssertDeathTest, AMessageJoinsItsParts) {
    const int made = 2;
    EXPECT_DEATH(TF_ASSERT_MSG(made == 3, "batch of ", 3, " got ", made, " results"),
                 "assertion failed: made == 3 \\(batch of 3 got 2 results\\)");
}

// The report is one line even when a value holds line breaks.
TEST(AssertDeathTest, TheReportIsOneLine) {
    const std::string text = "two\nlines";
    EXPECT_DEATH(TF_ASSERT_EQ(text, std::string()), "\\(left \"two\\\\nlines\", right \"\"\\)");
}

// Result's accessors assert which alternative it holds.
TEST(AssertDeathTest, ReadingTheValueOfAFaultFails) {
    const Result<int> failed = Fault::unavailable;
    EXPECT_DEATH(static_cast<void>(failed.value()), "assertion failed: ok\\(\\)");
    const Result<int> fine = 3;
    EXPECT_DEATH(static_cast<void>(fine.fault()), "assertion failed: !ok\\(\\)");
}

}  // namespace
}  // namespace tigerfans

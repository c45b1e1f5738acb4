// Array literals carry every batch to PostgreSQL: any text must survive the quoting, and a
// real NULL must stay distinct from the text "NULL".
#include "postgres/sql_array.hpp"

#include <gtest/gtest.h>

namespace tigerfans::postgres {
namespace {

TEST(ArrayLiteral, AnEmptyArrayIsBraces) { EXPECT_EQ(ArrayLiteral().text(), "{}"); }

TEST(ArrayLiteral, TextIsQuotedWithQuotesAndBackslashesEscaped) {
    ArrayLiteral array;
    array.add_text("plain");
    array.add_text("a,b {c} \"d\" \\e");
    array.add_text("");
    array.add_text("\"\\\"x\\");
    EXPECT_EQ(array.text(), R"({"plain","a,b {c} \"d\" \\e","","\"\\\"x\\"})");
    EXPECT_EQ(array.size(), 4u);
}

TEST(ArrayLiteral, NullIsTheBareWordAndTheTextNullIsQuoted) {
    ArrayLiteral array;
    array.add_optional_text(std::nullopt);
    array.add_optional_text(std::string("NULL"));
    EXPECT_EQ(array.text(), R"({NULL,"NULL"})");
}

TEST(ArrayLiteral, NumbersAndBooleansAreBare) {
    ArrayLiteral array;
    array.add_int(-42);
    array.add_int(9'007'199'254'740'993);
    array.add_bool(true);
    array.add_bool(false);
    EXPECT_EQ(array.text(), "{-42,9007199254740993,true,false}");
}

}  // namespace
}  // namespace tigerfans::postgres

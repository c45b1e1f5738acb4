// Converting hiredis replies into the store's plain Reply values. The replies come from
// hiredis' own protocol reader fed with RESP bytes, exactly as the async context builds them,
// so these tests pin down what the store will see for each kind of answer.
#include "sessions/redis/reply.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

namespace tigerfans::sessions::redis {
namespace {

// Parses one RESP reply with hiredis and converts it.
Reply converted(const std::string& resp) {
    std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader(redisReaderCreate(),
                                                                    &redisReaderFree);
    EXPECT_EQ(redisReaderFeed(reader.get(), resp.data(), resp.size()), REDIS_OK);
    void* raw = nullptr;
    EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
    EXPECT_NE(raw, nullptr) << "incomplete reply: " << resp;
    if (raw == nullptr) return Reply{};
    std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(static_cast<redisReply*>(raw),
                                                                  &freeReplyObject);
    return from_hiredis(*reply);
}

// Status, integer, nil and bulk strings keep their kind and value.
TEST(RedisReply, ConvertsScalarReplies) {
    EXPECT_TRUE(converted("+OK\r\n").is_status("OK"));
    EXPECT_EQ(converted(":-42\r\n").as_integer(), -42);
    EXPECT_EQ(converted("$-1\r\n").kind, Reply::Kind::nil);
    const Reply bulk = converted("$5\r\nhello\r\n");
    EXPECT_EQ(bulk.kind, Reply::Kind::string);
    EXPECT_EQ(bulk.text, "hello");
    EXPECT_FALSE(bulk.as_integer().has_value());
}

// Bulk strings are binary safe: embedded NUL and CRLF bytes survive the copy.
TEST(RedisReply, KeepsBinaryBulkStringsWhole) {
    const Reply bulk = converted(std::string("$6\r\na\0b\r\nc\r\n", 12));
    EXPECT_EQ(bulk.text, std::string("a\0b\r\nc", 6));
}

// Error replies expose their leading code, which the store uses to detect NOSCRIPT.
TEST(RedisReply, ExposesTheCodeOfAnError) {
    const Reply error = converted("-NOSCRIPT No matching script. Please use EVAL.\r\n");
    EXPECT_TRUE(error.is_error());
    EXPECT_EQ(error.error_code(), "NOSCRIPT");
    EXPECT_EQ(error.text, "NOSCRIPT No matching script. Please use EVAL.");
    EXPECT_EQ(converted("+NOSCRIPT\r\n").error_code(), "");
}

// Nested arrays (an EXEC answer holding HGETALL results) are copied deeply, in order.
TEST(RedisReply, CopiesNestedArraysInOrder) {
    const Reply reply = converted("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n-ERR inner\r\n");
    ASSERT_EQ(reply.kind, Reply::Kind::array);
    ASSERT_EQ(reply.elements.size(), 3u);
    EXPECT_EQ(reply.elements[0].as_integer(), 1);
    EXPECT_EQ(reply.elements[1].as_strings(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(reply.elements[2].error_code(), "ERR");
}

// as_strings() accepts only arrays made entirely of bulk strings, and the empty array.
TEST(RedisReply, ReadsStringArraysOnlyWhenEveryElementIsAString) {
    EXPECT_EQ(converted("*0\r\n").as_strings(), std::vector<std::string>{});
    EXPECT_FALSE(converted("*2\r\n$1\r\na\r\n:1\r\n").as_strings().has_value());
    EXPECT_FALSE(converted("$1\r\na\r\n").as_strings().has_value());
}

// take_strings() hands the strings over; an array that is not all strings stays untouched.
TEST(RedisReply, TakesStringsOutOfAnArrayOnlyWhenAllAreStrings) {
    Reply strings = converted("*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT_EQ(strings.take_strings(), (std::vector<std::string>{"a", "b"}));
    Reply mixed = converted("*2\r\n$1\r\na\r\n:1\r\n");
    EXPECT_FALSE(mixed.take_strings().has_value());
    EXPECT_EQ(mixed.elements[0].text, "a");
}

// Errors that describe Redis' state map to retryable faults (503); others are internal (500).
TEST(RedisReply, MapsRedisStateErrorsToRetryableFaults) {
    EXPECT_EQ(fault_of(converted("-OOM command not allowed\r\n")), Fault::overloaded);
    EXPECT_EQ(fault_of(converted("-LOADING Redis is loading\r\n")), Fault::unavailable);
    EXPECT_EQ(fault_of(converted("-BUSY Redis is busy running a script\r\n")), Fault::unavailable);
    EXPECT_EQ(fault_of(converted("-READONLY You can't write\r\n")), Fault::unavailable);
    EXPECT_EQ(fault_of(converted("-WRONGTYPE Operation against a key\r\n")), Fault::internal);
    EXPECT_EQ(fault_of(converted(":1\r\n")), Fault::internal);
}

// first_error() finds the earliest error, so a refused queued command wins over EXECABORT.
TEST(RedisReply, FindsTheFirstErrorAmongReplies) {
    const std::vector<Reply> replies = {converted("+OK\r\n"), converted("-OOM full\r\n"),
                                        converted("-EXECABORT discarded\r\n")};
    ASSERT_NE(first_error(replies), nullptr);
    EXPECT_EQ(first_error(replies)->error_code(), "OOM");
    EXPECT_EQ(first_error({converted("+OK\r\n")}), nullptr);
}

// Log descriptions name the kind and bound the text of long errors.
TEST(RedisReply, DescribesRepliesBriefly) {
    EXPECT_EQ(describe(converted("*2\r\n:1\r\n:2\r\n")), "array of 2");
    EXPECT_EQ(describe(converted(":7\r\n")), "integer 7");
    const std::string long_error = "-ERR " + std::string(500, 'x') + "\r\n";
    EXPECT_LT(describe(converted(long_error)).size(), 200u);
}

}  // namespace
}  // namespace tigerfans::sessions::redis

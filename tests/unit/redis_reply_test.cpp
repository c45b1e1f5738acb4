// Redis replies as the store's plain Reply values. They are built by hiredis' own protocol reader
// fed with RESP bytes, through reply_functions() as the client's connection builds them, so these
// tests pin down what the store will see for each kind of answer.
#include "sessions/redis/reply.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tigerfans::sessions::redis {
namespace {

using ReaderPtr = std::unique_ptr<redisReader, decltype(&redisReaderFree)>;

ReaderPtr building_reader(const std::string& resp) {
    ReaderPtr reader(redisReaderCreateWithFunctions(reply_functions()), &redisReaderFree);
    EXPECT_EQ(redisReaderFeed(reader.get(), resp.data(), resp.size()), REDIS_OK);
    return reader;
}

// Reads one RESP reply as the client does and takes it out.
Reply converted(const std::string& resp) {
    const ReaderPtr reader = building_reader(resp);
    void* raw = nullptr;
    EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
    EXPECT_NE(raw, nullptr) << "incomplete reply: " << resp;
    if (raw == nullptr) return Reply{};
    Reply reply = take_reply(raw);
    reply_functions()->freeObject(raw);
    return reply;
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

// Elements of arrays nested below the first level land in their own parent.
TEST(RedisReply, BuildsArraysNestedSeveralLevelsDeep) {
    const Reply reply = converted("*2\r\n*2\r\n*1\r\n$1\r\nx\r\n:7\r\n*0\r\n");
    ASSERT_EQ(reply.elements.size(), 2u);
    const Reply& outer = reply.elements[0];
    ASSERT_EQ(outer.elements.size(), 2u);
    EXPECT_EQ(outer.elements[0].as_strings(), std::vector<std::string>{"x"});
    EXPECT_EQ(outer.elements[1].as_integer(), 7);
    EXPECT_EQ(reply.elements[1].kind, Reply::Kind::array);
    EXPECT_TRUE(reply.elements[1].elements.empty());
}

// hiredis' async layer reads an error no command waits for as a redisReply before it disconnects:
// a built root shows it the reply's type, and an error's text.
TEST(RedisReply, ShowsHiredisTheTypeAndTextOfARoot) {
    for (const auto& [resp, type] : std::vector<std::pair<std::string, int>>{
             {"-ERR max number of clients reached\r\n", REDIS_REPLY_ERROR},
             {"+OK\r\n", REDIS_REPLY_STATUS},
             {":3\r\n", REDIS_REPLY_INTEGER},
             {"$-1\r\n", REDIS_REPLY_NIL},
             {"*1\r\n:1\r\n", REDIS_REPLY_ARRAY}}) {
        const ReaderPtr reader = building_reader(resp);
        void* raw = nullptr;
        ASSERT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
        ASSERT_NE(raw, nullptr);
        const auto* seen = static_cast<const redisReply*>(raw);
        EXPECT_EQ(seen->type, type) << resp;
        if (type == REDIS_REPLY_ERROR) {
            EXPECT_EQ(std::string(seen->str, seen->len), "ERR max number of clients reached");
        }
        reply_functions()->freeObject(raw);
    }
}

// A reply cut off mid-array, or refused by the reader midway, is freed whole by the reader
// (the sanitizer builds would report a leak or a double free).
TEST(RedisReply, AReplyLeftHalfBuiltIsFreedByTheReader) {
    {
        const ReaderPtr reader = building_reader("*3\r\n$1\r\na\r\n*2\r\n:1\r\n");
        void* raw = nullptr;
        EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
        EXPECT_EQ(raw, nullptr);  // Incomplete: the reader still holds the tree.
    }
    const ReaderPtr reader = building_reader("*2\r\n$1\r\na\r\n:x\r\n");
    void* raw = nullptr;
    EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_ERR);
    EXPECT_EQ(raw, nullptr);
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
    EXPECT_EQ(fault_of(converted("-MISCONF Redis is configured to save RDB snapshots\r\n")),
              Fault::unavailable);
    EXPECT_EQ(fault_of(converted("-NOREPLICAS Not enough good replicas to write\r\n")),
              Fault::unavailable);
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

// Commands in Redis' wire format: the exact bytes for a known command, and the same bytes as
// hiredis' own formatter for arguments of every awkward kind (empty, binary, long).
#include "sessions/redis/wire.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <cstdlib>

namespace tigerfans::sessions::redis {
namespace {

std::string hiredis_bytes(const std::vector<std::string>& arguments) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const std::string& argument : arguments) {
        argv.push_back(argument.data());
        lengths.push_back(argument.size());
    }
    char* formatted = nullptr;
    const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()),
                                              argv.data(), lengths.data());
    EXPECT_GT(length, 0);
    std::string bytes(formatted, static_cast<std::size_t>(length));
    std::free(formatted);
    return bytes;
}

TEST(RedisWireTest, WritesAnArrayOfBulkStrings) {
    std::string out;
    append_command({"HGET", "ps:42", "order_id"}, out);
    EXPECT_EQ(out, "*3\r\n$4\r\nHGET\r\n$5\r\nps:42\r\n$8\r\norder_id\r\n");
}

TEST(RedisWireTest, AppendsAfterWhatIsThere) {
    std::string out = "before";
    append_command({"PING"}, out);
    EXPECT_EQ(out, "before*1\r\n$4\r\nPING\r\n");
}

TEST(RedisWireTest, MatchesHiredisForAwkwardArguments) {
    const std::string binary("a\0b\r\nc", 6);
    const std::vector<std::vector<std::string>> commands = {
        {"SET", "", ""},
        {"SET", "key", binary},
        {"EVALSHA", "0123456789abcdef", "2", "k1", "k2", std::string(100'000, 'x')},
        {std::string(1, '\0')},
    };
    for (const auto& command : commands) {
        std::string out;
        append_command(command, out);
        EXPECT_EQ(out, hiredis_bytes(command));
    }
}

}  // namespace
}  // namespace tigerfans::sessions::redis

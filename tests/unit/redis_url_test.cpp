// REDIS_URL parsing: both accepted forms with and without their optional parts, and a clear
// refusal (never a silent default) for everything else.
#include "sessions/redis/url.hpp"

#include <gtest/gtest.h>

namespace tigerfans::sessions::redis {
namespace {

using Transport = Endpoint::Transport;

Endpoint parsed(std::string_view url) {
    ParsedUrl result = parse_url(url);
    EXPECT_TRUE(result.endpoint.has_value()) << url << ": " << result.error;
    return result.endpoint.value_or(Endpoint{});
}

std::string refusal(std::string_view url) {
    ParsedUrl result = parse_url(url);
    EXPECT_FALSE(result.endpoint.has_value()) << url << " was accepted";
    EXPECT_FALSE(result.error.empty()) << url;
    return result.error;
}

// The full TCP form yields host, port and database as written.
TEST(RedisUrl, ReadsHostPortAndDatabaseOfATcpUrl) {
    const Endpoint endpoint = parsed("redis://10.1.2.3:6380/4");
    EXPECT_EQ(endpoint.transport, Transport::tcp);
    EXPECT_EQ(endpoint.host, "10.1.2.3");
    EXPECT_EQ(endpoint.port, 6380);
    EXPECT_EQ(endpoint.database, 4);
}

// Port and database are optional and default to 6379 and 0.
TEST(RedisUrl, DefaultsPortAndDatabaseOfATcpUrl) {
    for (std::string_view url : {"redis://cache", "redis://cache/", "redis://cache:6379/0"}) {
        const Endpoint endpoint = parsed(url);
        EXPECT_EQ(endpoint.host, "cache") << url;
        EXPECT_EQ(endpoint.port, 6379) << url;
        EXPECT_EQ(endpoint.database, 0) << url;
    }
}

// A bracketed IPv6 address keeps its colons out of the port.
TEST(RedisUrl, ReadsABracketedIpv6Host) {
    const Endpoint endpoint = parsed("redis://[::1]:7000/2");
    EXPECT_EQ(endpoint.host, "::1");
    EXPECT_EQ(endpoint.port, 7000);
    EXPECT_EQ(endpoint.database, 2);
}

// The unix form takes an absolute socket path and an optional db parameter.
TEST(RedisUrl, ReadsSocketPathAndDatabaseOfAUnixUrl) {
    const Endpoint endpoint = parsed("unix:///run/redis/redis.sock?db=3");
    EXPECT_EQ(endpoint.transport, Transport::unix_socket);
    EXPECT_EQ(endpoint.socket_path, "/run/redis/redis.sock");
    EXPECT_EQ(endpoint.database, 3);
    EXPECT_EQ(parsed("unix:///tmp/r.sock").database, 0);
}

// Schemes other than the two supported ones are refused, naming what was given.
TEST(RedisUrl, RefusesOtherSchemes) {
    EXPECT_NE(refusal("http://127.0.0.1:6379").find("http://127.0.0.1:6379"), std::string::npos);
    refusal("");
    refusal("127.0.0.1:6379");
    refusal("rediss://127.0.0.1:6379");
}

// Ports outside 1..65535 and anything that is not plain digits are refused.
TEST(RedisUrl, RefusesBadPorts) {
    for (std::string_view url : {"redis://h:0", "redis://h:65536", "redis://h:-1",
                                 "redis://h:", "redis://h:12ab", "redis://h:+80", "redis://[::1"}) {
        refusal(url);
    }
}

// Database indexes must be plain non-negative numbers within the bound.
TEST(RedisUrl, RefusesBadDatabases) {
    for (std::string_view url :
         {"redis://h/x", "redis://h/-1", "redis://h/1/2", "redis://h/99999999999",
          "redis://h/65536", "unix:///s.sock?db=", "unix:///s.sock?db=a"}) {
        refusal(url);
    }
}

// Missing hosts, relative socket paths, credentials and unknown parameters are all errors.
TEST(RedisUrl, RefusesWhatItCannotHonour) {
    refusal("redis://");
    refusal("redis://:6379/0");
    refusal("redis://user:secret@h:6379/0");
    refusal("redis://h:6379/0?timeout=1");
    refusal("unix://relative.sock");
    refusal("unix:///");
    refusal("unix:///tmp/r.sock?database=1");
    refusal("unix:///tmp/r.sock?db=1&x=2");
}

// describe() says transport, address and database, for start-up logs.
TEST(RedisUrl, DescribesEndpointsForLogs) {
    EXPECT_EQ(describe(parsed("redis://127.0.0.1:6379/1")), "tcp 127.0.0.1:6379 db 1");
    EXPECT_EQ(describe(parsed("unix:///tmp/r.sock?db=2")), "unix /tmp/r.sock db 2");
}

}  // namespace
}  // namespace tigerfans::sessions::redis

// Configuration: defaults work, every value is validated against the table, errors name the
// option, secrets never print.
#include "tigerfans/config/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <map>
#include <vector>

#include "tigerfans/core/limits.hpp"
#include "tigerfans/http/client.hpp"

namespace tigerfans::config {
namespace {

Lookup from(std::map<std::string, std::string> values) {
    return [values](std::string_view name) -> std::optional<std::string> {
        const auto found = values.find(std::string(name));
        if (found == values.end()) return std::nullopt;
        return found->second;
    };
}

TEST(Config, DefaultsDescribeLevelThreeOnPort8000) {
    const LoadResult loaded = load(from({}));
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded.config.port, 8000);
    EXPECT_EQ(loaded.config.accounting, AccountingBackend::tigerbeetle);
    EXPECT_EQ(loaded.config.sessions, SessionBackend::redis);
    EXPECT_EQ(loaded.config.reservation_ttl_s, 300u);
    EXPECT_EQ(loaded.config.capacity_a, 5'000'000u);
    EXPECT_EQ(loaded.config.goodie_limit, 100'000u);
    EXPECT_EQ(loaded.config.mock_webhook_url, "http://127.0.0.1:8000/payments/webhook");
    EXPECT_EQ(backend_level_name(loaded.config), "tb/redis");
}

// Safe by default: loopback only, operator-only endpoints closed, the benchmark calls off.
TEST(Config, DefaultsListenOnLoopbackWithTheBenchmarkCallsOff) {
    const LoadResult loaded = load(from({}));
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded.config.host, "127.0.0.1");
    EXPECT_FALSE(loaded.config.bench_endpoints);
    EXPECT_TRUE(loaded.config.metrics_token.empty());
    const std::vector<std::string_view> defaults = default_secrets(loaded.config);
    EXPECT_EQ(defaults,
              (std::vector<std::string_view>{"MOCK_SECRET", "SESSION_SECRET", "ADMIN_PASSWORD"}));
}

// Beyond loopback the server refuses to start while a secret keeps its documented default,
// and the error names each one; with all three set it starts.
TEST(Config, ANonLoopbackHostWithADefaultSecretIsRefusedNamingIt) {
    const LoadResult exposed = load(from({{"HOST", "0.0.0.0"}, {"MOCK_SECRET", "m-1"}}));
    ASSERT_EQ(exposed.errors.size(), 1u);
    EXPECT_NE(exposed.errors[0].find("HOST: 0.0.0.0"), std::string::npos);
    EXPECT_NE(exposed.errors[0].find("SESSION_SECRET, ADMIN_PASSWORD"), std::string::npos);
    EXPECT_EQ(exposed.errors[0].find("MOCK_SECRET"), std::string::npos);
    const LoadResult hardened = load(from({{"HOST", "0.0.0.0"},
                                           {"MOCK_SECRET", "m-1"},
                                           {"SESSION_SECRET", "s-1"},
                                           {"ADMIN_PASSWORD", "p-1"}}));
    EXPECT_TRUE(hardened.ok());
    for (const char* host : {"127.0.0.1", "127.1.2.3", "localhost", "::1"}) {
        EXPECT_TRUE(load(from({{"HOST", host}})).ok()) << host;
        EXPECT_TRUE(is_loopback_host(host)) << host;
    }
    EXPECT_FALSE(is_loopback_host("10.0.0.1"));
    EXPECT_FALSE(is_loopback_host("128.0.0.1"));
    EXPECT_FALSE(is_loopback_host("127.0.0.1.evil.example"));
    EXPECT_FALSE(is_loopback_host("127.0.0"));
    EXPECT_FALSE(is_loopback_host("127.0000.0.1"));  // The server reads no such Host either.
    // A resolver reads these as names, not addresses, and asks DNS.
    EXPECT_FALSE(is_loopback_host("127.0.0.300"));
    EXPECT_FALSE(is_loopback_host("127.0.0.08"));
    EXPECT_TRUE(is_loopback_host("127.255.0.0"));
    EXPECT_FALSE(load(from({{"MOCK_WEBHOOK_URL", "http://127.0.0.300:8000/x"}})).ok());
}

// With a documented default the server answers only loopback hosts, so MockPay's events must
// go to one too: another name of this machine would be refused, and another machine's shop
// signed for with the default. With every secret set, any URL goes.
TEST(Config, AWebhookUrlBeyondLoopbackWithADefaultSecretIsRefused) {
    const LoadResult exposed =
        load(from({{"MOCK_WEBHOOK_URL", "http://shop.example:8000/payments/webhook"}}));
    ASSERT_EQ(exposed.errors.size(), 1u);
    EXPECT_NE(exposed.errors[0].find("MOCK_WEBHOOK_URL: http://shop.example:8000"),
              std::string::npos);
    for (const char* url : {"http://127.0.0.1:9/payments/webhook", "http://localhost/x",
                            "http://[::1]:8000/payments/webhook"}) {
        EXPECT_TRUE(load(from({{"MOCK_WEBHOOK_URL", url}})).ok()) << url;
    }
    EXPECT_FALSE(load(from({{"MOCK_WEBHOOK_URL", "http://127.0.0.1.evil.example/x"}})).ok());
    const LoadResult hardened = load(from({{"MOCK_WEBHOOK_URL", "http://shop.example/x"},
                                           {"MOCK_SECRET", "m-1"},
                                           {"SESSION_SECRET", "s-1"},
                                           {"ADMIN_PASSWORD", "p-1"}}));
    EXPECT_TRUE(hardened.ok());
}

// An empty secret (a variable set to nothing, as when a script's generator fails) would let
// anyone sign webhooks or admin cookies, or log in with an empty password: refused, on any host.
TEST(Config, AnEmptySecretIsRefusedNamingIt) {
    for (const char* name : {"MOCK_SECRET", "SESSION_SECRET", "ADMIN_PASSWORD"}) {
        for (const char* host : {"127.0.0.1", "0.0.0.0"}) {
            std::map<std::string, std::string> values = {{"HOST", host},
                                                         {"MOCK_SECRET", "m-1"},
                                                         {"SESSION_SECRET", "s-1"},
                                                         {"ADMIN_PASSWORD", "p-1"}};
            values[name] = "";
            const LoadResult loaded = load(from(values));
            ASSERT_EQ(loaded.errors.size(), 1u) << name << " on " << host;
            EXPECT_EQ(loaded.errors[0], std::string(name) + ": must not be empty");
        }
    }
}

TEST(Config, ReadsEveryLevelFromTheEnvironment) {
    const LoadResult loaded = load(from({{"ACCT_BACKEND", "pg"},
                                         {"PAYSESSION_BACKEND", "pg"},
                                         {"PORT", "9000"},
                                         {"CAPACITY_B", "50"}}));
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(backend_level_name(loaded.config), "pg/pg");
    EXPECT_EQ(loaded.config.capacity_b, 50u);
    EXPECT_EQ(loaded.config.mock_webhook_url, "http://127.0.0.1:9000/payments/webhook");
}

// MockPay posts to the address the server listens on: with HOST ::1 or one of the machine's
// addresses, 127.0.0.1 would find nothing listening and every payment would go undelivered.
TEST(Config, TheDefaultWebhookURLNamesTheAddressTheServerListensOn) {
    EXPECT_EQ(own_webhook_url("127.0.0.1", 8000), "http://127.0.0.1:8000/payments/webhook");
    EXPECT_EQ(own_webhook_url("::1", 8000), "http://[::1]:8000/payments/webhook");
    EXPECT_EQ(own_webhook_url("[::1]", 8000), "http://[::1]:8000/payments/webhook");
    EXPECT_EQ(own_webhook_url("0.0.0.0", 8000), "http://127.0.0.1:8000/payments/webhook");
    EXPECT_EQ(own_webhook_url("::", 8000), "http://[::1]:8000/payments/webhook");
    EXPECT_EQ(own_webhook_url("10.0.0.5", 80), "http://10.0.0.5:80/payments/webhook");
    const LoadResult loaded = load(from({{"HOST", "::1"}}));
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded.config.mock_webhook_url, "http://[::1]:8000/payments/webhook");
    const auto parsed = http::parse_http_url(loaded.config.mock_webhook_url);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->host, "::1");
    EXPECT_EQ(parsed->port, 8000);
}

TEST(Config, RejectsOutOfRangeNonNumericAndUnknownChoicesNamingEachOption) {
    const LoadResult loaded = load(from({{"PORT", "70000"},
                                         {"RESERVATION_TTL_SECONDS", "soon"},
                                         {"ACCT_BACKEND", "mysql"},
                                         {"CAPACITY_A", "-1"}}));
    ASSERT_EQ(loaded.errors.size(), 4u);
    std::string all;
    for (const auto& error : loaded.errors) all += error + "\n";
    EXPECT_NE(all.find("PORT"), std::string::npos);
    EXPECT_NE(all.find("RESERVATION_TTL_SECONDS"), std::string::npos);
    EXPECT_NE(all.find("ACCT_BACKEND"), std::string::npos);
    EXPECT_NE(all.find("CAPACITY_A"), std::string::npos);
}

// Order inserts get two connections unless told otherwise, and between one and the ceiling.
TEST(Config, OrderInsertConnectionsDefaultToTwoWithinTheirLimit) {
    EXPECT_EQ(load(from({})).config.pg_order_connections, 2u);
    EXPECT_EQ(load(from({{"PG_ORDER_CONNECTIONS", "1"}})).config.pg_order_connections, 1u);
    const std::size_t max = limits::pg_order_connections_max;
    const LoadResult most = load(from({{"PG_ORDER_CONNECTIONS", std::to_string(max)}}));
    ASSERT_TRUE(most.ok());
    EXPECT_EQ(most.config.pg_order_connections, max);
    const std::vector<std::string> refusals = {"0", std::to_string(max + 1), "two"};
    for (const std::string& refused : refusals) {
        const LoadResult loaded = load(from({{"PG_ORDER_CONNECTIONS", refused}}));
        ASSERT_EQ(loaded.errors.size(), 1u) << refused;
        EXPECT_TRUE(loaded.errors[0].starts_with("PG_ORDER_CONNECTIONS: ")) << loaded.errors[0];
    }
}

// Checkout and the admin login are rate limited per address by default; 0 turns it off, and a
// burst below one request is refused.
TEST(Config, RateLimitsAreOnByDefaultAndTheBurstIsAtLeastOne) {
    const LoadResult defaults = load(from({}));
    EXPECT_EQ(defaults.config.rate_limit_per_second, 10u);
    EXPECT_EQ(defaults.config.rate_limit_burst, 20u);
    EXPECT_EQ(load(from({{"RATE_LIMIT_PER_SECOND", "0"}})).config.rate_limit_per_second, 0u);
    for (const std::string refused : {"0", "-1", "many"}) {
        const LoadResult loaded = load(from({{"RATE_LIMIT_BURST", refused}}));
        ASSERT_EQ(loaded.errors.size(), 1u) << refused;
        EXPECT_TRUE(loaded.errors[0].starts_with("RATE_LIMIT_BURST: ")) << loaded.errors[0];
    }
}

// Four tickets per email unless told otherwise; 0 turns the limit off; anything else outside
// [0, ceiling] stops the start with the option named.
TEST(Config, TicketsPerEmailDefaultToFourAndZeroMeansNoLimit) {
    EXPECT_EQ(load(from({})).config.tickets_per_email, 4u);
    EXPECT_EQ(load(from({{"TICKETS_PER_EMAIL", "0"}})).config.tickets_per_email, 0u);
    const std::uint32_t max = limits::tickets_per_email_max;
    EXPECT_EQ(load(from({{"TICKETS_PER_EMAIL", std::to_string(max)}})).config.tickets_per_email,
              max);
    const std::vector<std::string> refusals = {"-1", std::to_string(max + 1), "four", ""};
    for (const std::string& refused : refusals) {
        const LoadResult loaded = load(from({{"TICKETS_PER_EMAIL", refused}}));
        ASSERT_EQ(loaded.errors.size(), 1u) << refused;
        EXPECT_TRUE(loaded.errors[0].starts_with("TICKETS_PER_EMAIL: ")) << loaded.errors[0];
    }
}

// A reservation ends within the day a settled order's done mark lasts.
TEST(Config, AReservationLastsAtMostTwentyThreeHours) {
    EXPECT_EQ(load(from({})).config.reservation_ttl_s, 300u);
    const std::string max = std::to_string(limits::reservation_ttl_max_s);
    EXPECT_EQ(load(from({{"RESERVATION_TTL_SECONDS", max}})).config.reservation_ttl_s,
              limits::reservation_ttl_max_s);
    const LoadResult day = load(from({{"RESERVATION_TTL_SECONDS", "86400"}}));
    ASSERT_EQ(day.errors.size(), 1u);
    EXPECT_TRUE(day.errors[0].starts_with("RESERVATION_TTL_SECONDS: ")) << day.errors[0];
}

// The transfer batches in flight default to the limit's default and stay within its ceiling,
// which leaves most of the client's request slots to the lookups.
TEST(Config, TigerBeetleBatchesInFlightDefaultToOneAndStayWithinTheClientsSlots) {
    EXPECT_EQ(load(from({})).config.tb_batches_in_flight, limits::tb_batches_in_flight_default);
    EXPECT_EQ(load(from({{"TB_BATCHES_IN_FLIGHT", "16"}})).config.tb_batches_in_flight, 16u);
    EXPECT_FALSE(load(from({{"TB_BATCHES_IN_FLIGHT", "0"}})).ok());
    EXPECT_FALSE(load(from({{"TB_BATCHES_IN_FLIGHT", "17"}})).ok());
}

// The waiting room is off by default; its sale opens when the server starts (no opening time),
// with a 30-minute pre-queue, 50 admissions a second, 10-minute tokens, no holds ceiling and
// at most two million waiting.
TEST(Config, TheWaitingRoomIsOffByDefault) {
    const LoadResult loaded = load(from({}));
    ASSERT_TRUE(loaded.ok());
    EXPECT_FALSE(loaded.config.waiting_room);
    EXPECT_EQ(loaded.config.sale_opens_at_us, std::nullopt);
    EXPECT_EQ(loaded.config.prequeue_minutes, 30u);
    EXPECT_EQ(loaded.config.admit_per_second, 50u);
    EXPECT_EQ(loaded.config.admission_ttl_s, 600u);
    EXPECT_EQ(loaded.config.admit_holds_ceiling, 0u);
    EXPECT_EQ(loaded.config.queue_waiting_max, 2'000'000u);
}

TEST(Config, ReadsTheWaitingRoomAndTheSaleOpeningInUtc) {
    const LoadResult loaded = load(from({{"WAITING_ROOM", "on"},
                                         {"SALE_OPENS_AT", "2026-12-02T18:00:00Z"},
                                         {"PREQUEUE_MINUTES", "0"},
                                         {"ADMIT_PER_SECOND", "1"},
                                         {"ADMISSION_TTL_SECONDS", "10"},
                                         {"ADMIT_HOLDS_CEILING", "5000"},
                                         {"QUEUE_WAITING_MAX", "0"}}));
    ASSERT_TRUE(loaded.ok()) << loaded.errors.at(0);
    EXPECT_TRUE(loaded.config.waiting_room);
    EXPECT_EQ(loaded.config.sale_opens_at_us, 1'796'234'400'000'000);
    EXPECT_EQ(loaded.config.prequeue_minutes, 0u);
    EXPECT_EQ(loaded.config.admit_per_second, 1u);
    EXPECT_EQ(loaded.config.admission_ttl_s, 10u);
    EXPECT_EQ(loaded.config.admit_holds_ceiling, 5000u);
    EXPECT_EQ(loaded.config.queue_waiting_max, 0u);
    std::string all;
    for (const auto& line : describe(loaded.config)) all += line + "\n";
    EXPECT_NE(all.find("COOKIE_SECURE = off"), std::string::npos);
    EXPECT_NE(all.find("SALE_OPENS_AT = 2026-12-02T18:00:00.000000+00:00"), std::string::npos);
    EXPECT_NE(all.find("WAITING_ROOM = on"), std::string::npos);
    for (const char* text : {"2026-12-02 18:00:00+00", "2026-12-02T18:00:00.5+00:00"}) {
        EXPECT_TRUE(load(from({{"SALE_OPENS_AT", text}})).ok()) << text;
    }
}

// Secure cookies are asked for by name; anything but on or off is refused.
TEST(Config, ReadsWhetherCookiesAreSecure) {
    EXPECT_FALSE(load(from({})).config.cookie_secure);
    const LoadResult secure = load(from({{"COOKIE_SECURE", "on"}}));
    ASSERT_TRUE(secure.ok()) << secure.errors.at(0);
    EXPECT_TRUE(secure.config.cookie_secure);
    const LoadResult wrong = load(from({{"COOKIE_SECURE", "true"}}));
    ASSERT_EQ(wrong.errors.size(), 1u);
    EXPECT_TRUE(wrong.errors[0].starts_with("COOKIE_SECURE: ")) << wrong.errors[0];
}

TEST(Config, RefusesWaitingRoomValuesOutOfRangeNamingEach) {
    const std::vector<std::pair<std::string, std::string>> refusals = {
        {"WAITING_ROOM", "yes"},
        {"SALE_OPENS_AT", "tomorrow"},
        {"SALE_OPENS_AT", "2026-02-30T18:00:00Z"},
        {"SALE_OPENS_AT", "2026-12-02T25:00:00Z"},
        {"SALE_OPENS_AT", "2026-12-02T18:00:00+01:00"},
        {"SALE_OPENS_AT", "2026-12-02"},
        {"PREQUEUE_MINUTES", "-1"},
        {"PREQUEUE_MINUTES", "10081"},
        {"ADMIT_PER_SECOND", "0"},
        {"ADMIT_PER_SECOND", "100001"},
        {"ADMISSION_TTL_SECONDS", "9"},
        {"ADMISSION_TTL_SECONDS", "86401"},
        {"ADMIT_HOLDS_CEILING", "-1"},
    };
    for (const auto& [name, text] : refusals) {
        const LoadResult loaded = load(from({{name, text}}));
        ASSERT_EQ(loaded.errors.size(), 1u) << name << "=" << text;
        EXPECT_TRUE(loaded.errors[0].starts_with(name + ": ")) << loaded.errors[0];
    }
}

TEST(Config, RefusesTheBenchEndpointsBesideAWaitingRoom) {
    const LoadResult both = load(from({{"WAITING_ROOM", "on"}, {"BENCH_ENDPOINTS", "on"}}));
    ASSERT_FALSE(both.ok());
    EXPECT_NE(both.errors.at(0).find("BENCH_ENDPOINTS"), std::string::npos);
    EXPECT_TRUE(load(from({{"WAITING_ROOM", "on"}, {"ADMISSION_TICKETS", "1000"}})).ok());
    EXPECT_FALSE(load(from({{"ADMISSION_TICKETS", "1001"}})).ok());
    EXPECT_FALSE(load(from({{"ADMISSION_TICKETS", "0"}})).ok());
}

// One process by default, with a name of its own; several share the port.
TEST(Config, ServerProcessesAndTheirNames) {
    const LoadResult one = load(from({}));
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(one.config.server_processes, 1u);
    EXPECT_FALSE(one.config.server_name.empty());
    EXPECT_TRUE(one.config.server_name.ends_with("-" + std::to_string(getpid())))
        << one.config.server_name;
    const LoadResult named = load(from({{"SERVER_PROCESSES", "4"}, {"SERVER_NAME", "web-2.a:1"}}));
    ASSERT_TRUE(named.ok());
    EXPECT_EQ(named.config.server_processes, 4u);
    EXPECT_EQ(named.config.server_name, "web-2.a:1");
    for (const std::string& bad :
         std::vector<std::string>{"a\"b", "a b", "a\\b", "x{y}", std::string(65, 'x')}) {
        const LoadResult loaded = load(from({{"SERVER_NAME", bad}}));
        ASSERT_EQ(loaded.errors.size(), 1u) << bad;
        EXPECT_TRUE(loaded.errors[0].starts_with("SERVER_NAME: ")) << loaded.errors[0];
    }
    // The login throttle counts longer user names together: the admin's must be shorter.
    EXPECT_TRUE(load(from({{"ADMIN_USERNAME", std::string(256, 'a')}})).ok());
    for (const std::string& bad : std::vector<std::string>{"", std::string(257, 'a')}) {
        const LoadResult loaded = load(from({{"ADMIN_USERNAME", bad}}));
        ASSERT_EQ(loaded.errors.size(), 1u) << bad.size();
        EXPECT_TRUE(loaded.errors[0].starts_with("ADMIN_USERNAME: ")) << loaded.errors[0];
    }
    EXPECT_FALSE(load(from({{"SERVER_PROCESSES", "0"}})).ok());
    const LoadResult any_port = load(from({{"SERVER_PROCESSES", "2"}, {"PORT", "0"}}));
    ASSERT_EQ(any_port.errors.size(), 1u);
    EXPECT_TRUE(any_port.errors[0].starts_with("PORT: ")) << any_port.errors[0];
    EXPECT_FALSE(load(from({{"SERVER_PROCESSES", "17"}})).ok());
    EXPECT_EQ(one.config.metrics_port, 0u);
    EXPECT_EQ(load(from({{"METRICS_PORT", "9100"}})).config.metrics_port, 9100u);
    const LoadResult clash = load(from({{"PORT", "9100"}, {"METRICS_PORT", "9100"}}));
    ASSERT_EQ(clash.errors.size(), 1u);
    EXPECT_TRUE(clash.errors[0].starts_with("METRICS_PORT: ")) << clash.errors[0];
    // The admission lease in the queue's store lets several processes share a waiting room.
    EXPECT_TRUE(load(from({{"SERVER_PROCESSES", "2"}, {"WAITING_ROOM", "on"}})).ok());
}

// VENUE names a shipped venue by id, or a file by path; anything else is refused by name.
TEST(Config, VenueIsAnIdUnderTheWebRootOrAPath) {
    const LoadResult none = load(from({}));
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none.config.venue.empty());
    const LoadResult hall = load(from({{"VENUE", "hall"}, {"WEB_ROOT", "/srv/web"}}));
    ASSERT_TRUE(hall.ok());
    EXPECT_EQ(venue_path(hall.config), "/srv/web/venues/hall.json");
    const LoadResult path = load(from({{"VENUE", "./my/arena.json"}}));
    ASSERT_TRUE(path.ok());
    EXPECT_EQ(venue_path(path.config), "./my/arena.json");
    for (const std::string bad : {"Hall", "hall.json", "../x", "a b"}) {
        const LoadResult loaded = load(from({{"VENUE", bad}}));
        if (bad.find('/') != std::string::npos) {
            EXPECT_TRUE(loaded.ok()) << bad;  // A path: whether it loads is the start's to say.
            continue;
        }
        ASSERT_EQ(loaded.errors.size(), 1u) << bad;
        EXPECT_TRUE(loaded.errors[0].starts_with("VENUE: ")) << loaded.errors[0];
    }
}

TEST(Config, RejectsUrlsOfTheWrongScheme) {
    EXPECT_FALSE(load(from({{"REDIS_URL", "http://x"}})).ok());
    EXPECT_FALSE(load(from({{"MOCK_WEBHOOK_URL", "https://x/"}})).ok());
    EXPECT_TRUE(load(from({{"REDIS_URL", "unix:///tmp/r.sock?db=0"}})).ok());
}

TEST(Config, DescribeMasksSecrets) {
    const LoadResult loaded = load(from({{"ADMIN_PASSWORD", "hunter2"},
                                         {"MOCK_SECRET", "s3cret"},
                                         {"DATABASE_URL", "postgresql://u:pw@h/db"}}));
    ASSERT_TRUE(loaded.ok());
    std::string all;
    for (const auto& line : describe(loaded.config)) all += line + "\n";
    EXPECT_EQ(all.find("hunter2"), std::string::npos);
    EXPECT_EQ(all.find("s3cret"), std::string::npos);
    EXPECT_EQ(all.find(":pw@"), std::string::npos);
    EXPECT_NE(all.find("ADMIN_PASSWORD = ****"), std::string::npos);
    EXPECT_EQ(describe(loaded.config).size(), options().size());
}

}  // namespace
}  // namespace tigerfans::config

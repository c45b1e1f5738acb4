// The configuration table and its validation.
#include "tigerfans/config/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/core/loopback.hpp"

#ifndef TIGERFANS_SOURCE_DIR
#define TIGERFANS_SOURCE_DIR "."
#endif

namespace tigerfans::config {

namespace {
constexpr std::int64_t port_max = 65535;
// Each process is a TigerBeetle client, and a cluster serves a bounded number of them (the
// README, "Several server processes"); far below that, and below PostgreSQL's connection limit.
constexpr std::int64_t server_processes_max = 16;
constexpr std::size_t server_name_max = 64;
constexpr std::int64_t capacity_max = 1'000'000'000'000;
constexpr std::int64_t prequeue_minutes_max = 7 * 24 * 60;
constexpr std::int64_t admission_ttl_min_s = 10;
constexpr std::int64_t admission_ttl_max_s = 24 * 3600;
constexpr std::int64_t admission_tickets_max =
    1'000;  // What a token can carry (queue/admission_token.hpp).

const std::string pg_order_connections_default =
    std::to_string(limits::pg_order_connections_default);
const std::string tickets_per_email_default = std::to_string(limits::tickets_per_email_default);
const std::string default_tb_client_lib = TIGERFANS_SOURCE_DIR "/tigerbeetle/lib/libtb_client.so";
const std::string default_web_root = TIGERFANS_SOURCE_DIR "/web";
const std::string default_bench_results = TIGERFANS_SOURCE_DIR "/bench/results";

// SALE_OPENS_AT: empty, or a UTC time parse_iso8601_utc reads whose fields are in range (it
// renders back to the same date and time, so "2026-02-30" or "25:00" are refused).
std::string sale_time_error(const std::string& text) {
    if (text.empty()) return {};
    const std::optional<std::int64_t> parsed = parse_iso8601_utc(text);
    std::string written = text.substr(0, 19);
    if (written.size() == 19 && written[10] == ' ') written[10] = 'T';
    if (parsed && iso8601_utc(*parsed).substr(0, 19) == written) return {};
    return "'" + text + "' is not a UTC time like 2026-12-02T18:00:00Z";
}

// A server's name goes into a metrics label and a JSON field: plain characters only.
bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
           c == ':';
}

// The login throttle keys user names up to this length each by itself, longer ones together.
std::string admin_username_error(const std::string& text) {
    if (!text.empty() && text.size() <= limits::admin_login_username_key_bytes_max) return {};
    return "must be 1 to " + std::to_string(limits::admin_login_username_key_bytes_max) + " bytes";
}

// A secret signs or checks what strangers send (webhooks, admin cookies, the admin login): an
// empty one would let anyone sign, or log in with an empty password.
std::string secret_error(const std::string& text) {
    if (!text.empty()) return {};
    return "must not be empty";
}

std::string server_name_error(const std::string& text) {
    if (text.size() <= server_name_max && std::ranges::all_of(text, is_name_char)) return {};
    return "must be at most 64 letters, digits, '-', '_', '.' or ':'";
}

// The default name: this machine's and this process's, distinct for every process of a host.
std::string default_server_name() {
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
    std::string name(host.data());
    std::erase_if(name, [](char c) { return !is_name_char(c); });
    name = name.substr(0, server_name_max - 12);
    return (name.empty() ? "server" : name) + "-" + std::to_string(getpid());
}

// VENUE: empty, a venue id (letters of an id, as the venue files use), or a path.
std::string venue_error(const std::string& text) {
    if (text.find('/') != std::string::npos) return {};
    const auto id_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    };
    if (text.size() <= 32 && std::ranges::all_of(text, id_char)) return {};
    return "'" + text + "' is neither a venue id (a-z, 0-9, '-', '_') nor a path with a '/'";
}

std::optional<std::int64_t> sale_time(const std::string& text) {
    if (text.empty()) return std::nullopt;
    return parse_iso8601_utc(text);
}

std::vector<Option> build_options() {
    using C = Config;
    using S = const std::string&;
    // One option per row; the table keeps its hand layout.
    // clang-format off
    return {
        {"HOST", Kind::text, "127.0.0.1", 0, 0, {}, "", false,
         "address to listen on (beyond loopback only with every secret changed)",
         [](C& c, S t, std::int64_t) { c.host = t; }},
        {"PORT", Kind::integer, "8000", 0, port_max, {}, "", false, "HTTP port (0: any free)",
         [](C& c, S, std::int64_t n) { c.port = static_cast<std::uint16_t>(n); }},
        {"SERVER_PROCESSES", Kind::integer, "1", 1, server_processes_max, {}, "processes", false,
         "server processes sharing PORT (SO_REUSEPORT when above 1; scripts/run.sh starts them)",
         [](C& c, S, std::int64_t n) { c.server_processes = static_cast<std::uint32_t>(n); }},
        {"METRICS_PORT", Kind::integer, "0", 0, port_max, {}, "", false,
         "a port of this process alone serving /metrics and /healthz on HOST (0: none)",
         [](C& c, S, std::int64_t n) { c.metrics_port = static_cast<std::uint16_t>(n); }},
        {"SERVER_NAME", Kind::text, "", 0, 0, {}, "", false,
         "this process's name in /healthz, /metrics and the admin view (empty: host-pid)",
         [](C& c, S t, std::int64_t) { c.server_name = t; }, server_name_error},
        {"ACCT_BACKEND", Kind::choice, "tb", 0, 0, {"tb", "pg"}, "", false,
         "accounting: TigerBeetle or PostgreSQL",
         [](C& c, S t, std::int64_t) {
             c.accounting = t == "tb" ? AccountingBackend::tigerbeetle : AccountingBackend::postgres;
         }},
        {"PAYSESSION_BACKEND", Kind::choice, "redis", 0, 0, {"redis", "pg"}, "", false,
         "payment sessions: Redis or PostgreSQL",
         [](C& c, S t, std::int64_t) {
             c.sessions = t == "redis" ? SessionBackend::redis : SessionBackend::postgres;
         }},
        {"DATABASE_URL", Kind::text, "postgresql://tigerfans:tigerfans@127.0.0.1:5432/tigerfans", 0,
         0, {}, "", true, "PostgreSQL connection URI (orders; accounting and sessions on pg)",
         [](C& c, S t, std::int64_t) { c.database_url = t; }},
        {"PG_ORDER_CONNECTIONS", Kind::integer, pg_order_connections_default, 1,
         static_cast<std::int64_t>(limits::pg_order_connections_max), {}, "connections", false,
         "PostgreSQL connections for order inserts, one group commit in flight on each",
         [](C& c, S, std::int64_t n) { c.pg_order_connections = static_cast<std::uint32_t>(n); }},
        {"REDIS_URL", Kind::text, "redis://127.0.0.1:6379/0", 0, 0, {}, "", false,
         "redis://host:port/db or unix:///path/redis.sock?db=0",
         [](C& c, S t, std::int64_t) { c.redis_url = t; }},
        {"TB_ADDRESS", Kind::text, "3000", 0, 0, {}, "", false,
         "TigerBeetle replica addresses (comma-separated)",
         [](C& c, S t, std::int64_t) { c.tb_address = t; }},
        {"TB_CLUSTER_ID", Kind::integer, "0", 0, INT64_MAX, {}, "", false, "TigerBeetle cluster id",
         [](C& c, S, std::int64_t n) { c.tb_cluster_id = static_cast<std::uint64_t>(n); }},
        {"TB_CLIENT_LIB", Kind::text, default_tb_client_lib, 0, 0, {}, "", false,
         "path of the official libtb_client.so (0.17.8)",
         [](C& c, S t, std::int64_t) { c.tb_client_lib = t; }},
        {"TB_BATCH_EVENTS_MAX", Kind::integer, "8189", 1, limits::tb_batch_events_max, {}, "events",
         false,
         "transfers per TigerBeetle request (the cluster's limit may be lower)",
         [](C& c, S, std::int64_t n) { c.tb_batch_events_max = static_cast<std::uint32_t>(n); }},
        {"TB_BATCHES_IN_FLIGHT", Kind::integer, "1", 1, limits::tb_batches_in_flight_max, {},
         "requests", false,
         "transfer batches sent to TigerBeetle at once (the next leaves when any returns)",
         [](C& c, S, std::int64_t n) { c.tb_batches_in_flight = static_cast<std::uint32_t>(n); }},
        {"MOCK_SECRET", Kind::text, "supersecret", 0, 0, {}, "", true,
         "HMAC-SHA256 key MockPay signs webhooks with",
         [](C& c, S t, std::int64_t) { c.mock_secret = t; }, secret_error},
        {"MOCK_WEBHOOK_URL", Kind::text, "", 0, 0, {}, "", false,
         "where MockPay posts events (default: this server's /payments/webhook at HOST)",
         [](C& c, S t, std::int64_t) { c.mock_webhook_url = t; }},
        {"SESSION_SECRET", Kind::text, "dev-secret-change-me", 0, 0, {}, "", true,
         "key that signs admin session cookies",
         [](C& c, S t, std::int64_t) { c.session_secret = t; }, secret_error},
        {"ADMIN_USERNAME", Kind::text, "admin", 0, 0, {}, "", false, "admin login name",
         [](C& c, S t, std::int64_t) { c.admin_username = t; }, admin_username_error},
        {"ADMIN_PASSWORD", Kind::text, "supasecret", 0, 0, {}, "", true, "admin password",
         [](C& c, S t, std::int64_t) { c.admin_password = t; }, secret_error},
        {"RESERVATION_TTL_SECONDS", Kind::integer, "300", 1, limits::reservation_ttl_max_s, {},
         "s", false, "how long a checkout holds its ticket",
         [](C& c, S, std::int64_t n) { c.reservation_ttl_s = static_cast<std::uint32_t>(n); }},
        {"TICKETS_PER_EMAIL", Kind::integer, tickets_per_email_default, 0,
         limits::tickets_per_email_max, {}, "tickets", false,
         "paid or held tickets one email address may have at once (0: no limit)",
         [](C& c, S, std::int64_t n) { c.tickets_per_email = static_cast<std::uint32_t>(n); }},
        {"CAPACITY_A", Kind::integer, "5000000", 0, capacity_max, {}, "tickets", false,
         "class A tickets on sale",
         [](C& c, S, std::int64_t n) { c.capacity_a = static_cast<std::uint64_t>(n); }},
        {"CAPACITY_B", Kind::integer, "5000000", 0, capacity_max, {}, "tickets", false,
         "class B tickets on sale",
         [](C& c, S, std::int64_t n) { c.capacity_b = static_cast<std::uint64_t>(n); }},
        {"GOODIE_LIMIT", Kind::integer, "100000", 0, capacity_max, {}, "goodies", false,
         "goodies for the first paid orders",
         [](C& c, S, std::int64_t n) { c.goodie_limit = static_cast<std::uint64_t>(n); }},
        {"LOG_LEVEL", Kind::choice, "info", 0, 0, {"debug", "info", "warn", "error"}, "", false,
         "log level", [](C& c, S t, std::int64_t) { c.log_level = t; }},
        {"WEB_ROOT", Kind::text, default_web_root, 0, 0, {}, "", false,
         "folder with pages, CSS and JS", [](C& c, S t, std::int64_t) { c.web_root = t; }},
        {"VENUE", Kind::text, "", 0, 0, {}, "", false,
         "reserved seating's venue: a file of WEB_ROOT/venues by id (hall, stadium) or a path "
         "with a '/' (empty: none; docs/SEATING.md)",
         [](C& c, S t, std::int64_t) { c.venue = t; }, venue_error},
        {"BENCH_RESULTS_DIR", Kind::text, default_bench_results, 0, 0, {}, "", false,
         "folder of recorded benchmark results shown at /bench",
         [](C& c, S t, std::int64_t) { c.bench_results_dir = t; }},
        {"BENCH_ENDPOINTS", Kind::choice, "off", 0, 0, {"off", "on"}, "", false,
         "the isolated accounting calls /api/accounting/* (benchmarks only: they move stock)",
         [](C& c, S t, std::int64_t) { c.bench_endpoints = t == "on"; }},
        {"RECONCILE_INTERVAL_SECONDS", Kind::integer, "300", 0, 86'400, {}, "s", false,
         "how often the server compares the ledger with the orders and writes lost ones (0: "
         "never; `tigerfans reconcile` runs one pass)",
         [](C& c, S, std::int64_t n) { c.reconcile_interval_s = static_cast<std::uint32_t>(n); }},
        {"RATE_LIMIT_PER_SECOND", Kind::integer, "10", 0, limits::rate_limit_per_second_max, {},
         "requests/s", false,
         "requests a second one client address may make to checkout, the queue join and the admin "
         "login, each counted apart, on average (0: no limit; a 429 with Retry-After beyond it)",
         [](C& c, S, std::int64_t n) { c.rate_limit_per_second = static_cast<std::uint32_t>(n); }},
        {"RATE_LIMIT_BURST", Kind::integer, "20", 1, limits::rate_limit_burst_max, {}, "requests",
         false, "requests one client address may make at once before RATE_LIMIT_PER_SECOND applies",
         [](C& c, S, std::int64_t n) { c.rate_limit_burst = static_cast<std::uint32_t>(n); }},
        {"METRICS_TOKEN", Kind::text, "", 0, 0, {}, "", true,
         "bearer token that may read /metrics besides an admin login (empty: admin only)",
         [](C& c, S t, std::int64_t) { c.metrics_token = t; }},
        {"COOKIE_SECURE", Kind::choice, "off", 0, 0, {"off", "on"}, "", false,
         "on: cookies the server sets carry Secure, so browsers send them over HTTPS only (for "
         "a server behind a TLS proxy)",
         [](C& c, S t, std::int64_t) { c.cookie_secure = t == "on"; }},
        {"WAITING_ROOM", Kind::choice, "off", 0, 0, {"off", "on"}, "", false,
         "waiting room in front of checkout: a queue, and admission tokens checkout asks for",
         [](C& c, S t, std::int64_t) { c.waiting_room = t == "on"; }},
        {"SALE_OPENS_AT", Kind::text, "", 0, 0, {}, "", false,
         "waiting room: when the sale opens, ISO-8601 UTC (empty: when the server starts)",
         [](C& c, S t, std::int64_t) { c.sale_opens_at_us = sale_time(t); }, sale_time_error},
        {"PREQUEUE_MINUTES", Kind::integer, "30", 0, prequeue_minutes_max, {}, "min", false,
         "waiting room: the pre-queue, whose joiners are raffled, opens this long before the sale",
         [](C& c, S, std::int64_t n) { c.prequeue_minutes = static_cast<std::uint32_t>(n); }},
        {"ADMIT_PER_SECOND", Kind::integer, "50", 1, limits::admit_per_second_max, {}, "entries/s", false,
         "waiting room: queue entries admitted to checkout a second",
         [](C& c, S, std::int64_t n) { c.admit_per_second = static_cast<std::uint32_t>(n); }},
        {"ADMISSION_TTL_SECONDS", Kind::integer, "600", admission_ttl_min_s, admission_ttl_max_s,
         {}, "s", false, "waiting room: how long an admission token lets its holder check out",
         [](C& c, S, std::int64_t n) { c.admission_ttl_s = static_cast<std::uint32_t>(n); }},
        {"ADMISSION_TICKETS", Kind::integer, "4", 1, admission_tickets_max, {}, "tickets",
         false, "waiting room: the checkouts one admission token allows",
         [](C& c, S, std::int64_t n) { c.admission_tickets = static_cast<std::uint32_t>(n); }},
        {"ADMIT_HOLDS_CEILING", Kind::integer, "0", 0, capacity_max, {}, "holds", false,
         "waiting room: admission pauses while this many tickets (seats too) are held (0: none)",
         [](C& c, S, std::int64_t n) { c.admit_holds_ceiling = static_cast<std::uint64_t>(n); }},
        {"QUEUE_WAITING_MAX", Kind::integer, "2000000", 0, capacity_max, {}, "entries", false,
         "waiting room: new joins are refused (503) while this many entries wait (0: no cap)",
         [](C& c, S, std::int64_t n) { c.queue_waiting_max = static_cast<std::uint64_t>(n); }},
    };
    // clang-format on
}

std::optional<std::int64_t> parse_integer(const std::string& text) {
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// Returns an error line, or empty when the value fits the option.
std::string check(const Option& option, const std::string& text, std::int64_t& number) {
    const std::string name(option.name);
    if (option.kind == Kind::integer) {
        auto parsed = parse_integer(text);
        if (!parsed) return name + ": '" + text + "' is not an integer";
        if (*parsed < option.min || *parsed > option.max) {
            return name + ": " + text + " is outside [" + std::to_string(option.min) + ", " +
                   std::to_string(option.max) + "]";
        }
        number = *parsed;
    }
    if (option.validate) {
        const std::string error = option.validate(text);
        if (!error.empty()) return name + ": " + error;
    }
    if (option.kind == Kind::choice &&
        std::find(option.choices.begin(), option.choices.end(), text) == option.choices.end()) {
        std::string allowed;
        for (auto choice : option.choices)
            allowed += (allowed.empty() ? "" : "|") + std::string(choice);
        return name + ": '" + text + "' is not one of " + allowed;
    }
    return {};
}

// The host an http:// URL names (brackets kept), or "" when it has none.
std::string_view url_host(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme)) return {};
    url.remove_prefix(scheme.size());
    url = url.substr(0, url.find_first_of("/?#"));
    if (url.starts_with('[')) return url.substr(0, url.find(']') + 1);
    return url.substr(0, url.find(':'));
}

// Beyond loopback, anyone who can reach the port could sign payments or log in as admin with
// a documented default: refuse to start then. Such a server answers only loopback hosts, so
// MockPay's events must go to a loopback host too (another name would be refused, and another
// machine's shop would be signed for with the default).
std::string exposure_check(const Config& config) {
    const std::vector<std::string_view> defaults = default_secrets(config);
    if (defaults.empty()) return {};
    std::string names;
    for (std::string_view name : defaults) names += (names.empty() ? "" : ", ") + std::string(name);
    if (!is_loopback_host(config.host)) {
        return "HOST: " + config.host + " is reachable from other machines while " + names +
               " keep their documented defaults; set them, or listen on 127.0.0.1";
    }
    if (!is_loopback_host(url_host(config.mock_webhook_url))) {
        return "MOCK_WEBHOOK_URL: " + config.mock_webhook_url +
               " names a host beyond loopback while " + names +
               " keep their documented defaults; set them, or name 127.0.0.1";
    }
    return {};
}

// The scrape port is this process's own: it cannot be the port the processes share; and
// processes share a port only when it is named (with 0 each would pick one of its own).
std::string port_check(const Config& config) {
    if (config.metrics_port != 0 && config.metrics_port == config.port) {
        return "METRICS_PORT: must differ from PORT";
    }
    if (config.server_processes > 1 && config.port == 0) {
        return "PORT: must be set (not 0) when SERVER_PROCESSES is above 1";
    }
    return {};
}

std::string url_check(const Config& config) {
    const bool redis_ok =
        config.redis_url.starts_with("redis://") || config.redis_url.starts_with("unix://");
    if (!redis_ok) return "REDIS_URL: must start with redis:// or unix://";
    const bool pg_ok = config.database_url.starts_with("postgresql://") ||
                       config.database_url.starts_with("postgres://") ||
                       config.database_url.find('=') != std::string::npos;
    if (!pg_ok) return "DATABASE_URL: must be a postgresql:// URI or a key=value string";
    if (!config.mock_webhook_url.starts_with("http://")) {
        return "MOCK_WEBHOOK_URL: must be an http:// URL";
    }
    return {};
}
// The isolated accounting calls hold and sell stock without an admission: a server that queues
// its fans must not offer them.
std::string waiting_room_check(const Config& config) {
    if (config.waiting_room && config.bench_endpoints) {
        return "BENCH_ENDPOINTS: must be off with WAITING_ROOM=on (they sell without admission)";
    }
    return {};
}
}  // namespace

const std::vector<Option>& options() {
    static const std::vector<Option> table = build_options();
    return table;
}

Lookup environment_lookup() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(name).c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

LoadResult load(const Lookup& lookup) {
    LoadResult result;
    for (const Option& option : options()) {
        const std::string text = lookup(option.name).value_or(std::string(option.default_value));
        std::int64_t number = 0;
        std::string error = check(option, text, number);
        if (!error.empty()) {
            result.errors.push_back(std::move(error));
            continue;
        }
        option.assign(result.config, text, number);
    }
    Config& config = result.config;
    if (config.mock_webhook_url.empty()) {
        config.mock_webhook_url = own_webhook_url(config.host, config.port);
    }
    if (config.server_name.empty()) config.server_name = default_server_name();
    for (const auto& check_config : {url_check, exposure_check, waiting_room_check, port_check}) {
        if (!result.errors.empty()) break;
        std::string error = check_config(config);
        if (!error.empty()) result.errors.push_back(std::move(error));
    }
    return result;
}

std::vector<std::string_view> default_secrets(const Config& config) {
    const std::pair<std::string_view, const std::string*> secrets[] = {
        {"MOCK_SECRET", &config.mock_secret},
        {"SESSION_SECRET", &config.session_secret},
        {"ADMIN_PASSWORD", &config.admin_password}};
    std::vector<std::string_view> names;
    for (const auto& [name, value] : secrets) {
        const auto option = std::ranges::find(options(), name, &Option::name);
        TF_ASSERT(option != options().end());
        if (*value == option->default_value) names.push_back(name);
    }
    return names;
}

std::string venue_path(const Config& config) {
    if (config.venue.find('/') != std::string::npos) return config.venue;
    return config.web_root + "/venues/" + config.venue + ".json";
}

bool is_loopback_host(std::string_view host) {
    return host == "localhost" || host == "::1" || host == "[::1]" || is_loopback_ipv4(host);
}

std::string own_webhook_url(std::string_view host, std::uint16_t port) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    std::string address(host);
    if (host.empty() || host == "0.0.0.0") address = "127.0.0.1";
    if (host == "::") address = "::1";
    if (address.find(':') != std::string::npos) address = "[" + address + "]";
    return "http://" + address + ":" + std::to_string(port) + "/payments/webhook";
}

std::vector<std::string> describe(const Config& config) {
    // Re-render from the table so the printout cannot drift from what was parsed.
    std::vector<std::string> lines;
    const auto value_of = [&config](std::string_view name) -> std::string {
        if (name == "HOST") return config.host;
        if (name == "PORT") return std::to_string(config.port);
        if (name == "SERVER_PROCESSES") return std::to_string(config.server_processes);
        if (name == "SERVER_NAME") return config.server_name;
        if (name == "METRICS_PORT") return std::to_string(config.metrics_port);
        if (name == "ACCT_BACKEND") {
            return config.accounting == AccountingBackend::tigerbeetle ? "tb" : "pg";
        }
        if (name == "PAYSESSION_BACKEND") {
            return config.sessions == SessionBackend::redis ? "redis" : "pg";
        }
        if (name == "DATABASE_URL") return config.database_url;
        if (name == "PG_ORDER_CONNECTIONS") return std::to_string(config.pg_order_connections);
        if (name == "REDIS_URL") return config.redis_url;
        if (name == "TB_ADDRESS") return config.tb_address;
        if (name == "TB_CLUSTER_ID") return std::to_string(config.tb_cluster_id);
        if (name == "TB_CLIENT_LIB") return config.tb_client_lib;
        if (name == "TB_BATCH_EVENTS_MAX") return std::to_string(config.tb_batch_events_max);
        if (name == "TB_BATCHES_IN_FLIGHT") return std::to_string(config.tb_batches_in_flight);
        if (name == "MOCK_WEBHOOK_URL") return config.mock_webhook_url;
        if (name == "ADMIN_USERNAME") return config.admin_username;
        if (name == "RESERVATION_TTL_SECONDS") return std::to_string(config.reservation_ttl_s);
        if (name == "TICKETS_PER_EMAIL") return std::to_string(config.tickets_per_email);
        if (name == "CAPACITY_A") return std::to_string(config.capacity_a);
        if (name == "CAPACITY_B") return std::to_string(config.capacity_b);
        if (name == "GOODIE_LIMIT") return std::to_string(config.goodie_limit);
        if (name == "LOG_LEVEL") return config.log_level;
        if (name == "WEB_ROOT") return config.web_root;
        if (name == "VENUE") return config.venue;
        if (name == "BENCH_RESULTS_DIR") return config.bench_results_dir;
        if (name == "BENCH_ENDPOINTS") return config.bench_endpoints ? "on" : "off";
        if (name == "RECONCILE_INTERVAL_SECONDS") {
            return std::to_string(config.reconcile_interval_s);
        }
        if (name == "RATE_LIMIT_PER_SECOND") return std::to_string(config.rate_limit_per_second);
        if (name == "RATE_LIMIT_BURST") return std::to_string(config.rate_limit_burst);
        if (name == "COOKIE_SECURE") return config.cookie_secure ? "on" : "off";
        if (name == "WAITING_ROOM") return config.waiting_room ? "on" : "off";
        if (name == "SALE_OPENS_AT") {
            return config.sale_opens_at_us ? iso8601_utc(*config.sale_opens_at_us) : "";
        }
        if (name == "PREQUEUE_MINUTES") return std::to_string(config.prequeue_minutes);
        if (name == "ADMIT_PER_SECOND") return std::to_string(config.admit_per_second);
        if (name == "ADMISSION_TTL_SECONDS") return std::to_string(config.admission_ttl_s);
        if (name == "ADMISSION_TICKETS") return std::to_string(config.admission_tickets);
        if (name == "ADMIT_HOLDS_CEILING") return std::to_string(config.admit_holds_ceiling);
        if (name == "QUEUE_WAITING_MAX") return std::to_string(config.queue_waiting_max);
        return "?";
    };
    for (const Option& option : options()) {
        std::string line = std::string(option.name) + " = ";
        line += option.secret ? "****" : value_of(option.name);
        if (!option.unit.empty()) line += " " + std::string(option.unit);
        lines.push_back(std::move(line));
    }
    return lines;
}

std::string_view backend_level_name(const Config& config) {
    const bool tb = config.accounting == AccountingBackend::tigerbeetle;
    const bool redis = config.sessions == SessionBackend::redis;
    if (tb) return redis ? "tb/redis" : "tb/pg";
    return redis ? "pg/redis" : "pg/pg";
}

}  // namespace tigerfans::config

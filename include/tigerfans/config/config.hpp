// Configuration: one table of options (name, default, bounds, unit, help), read from the
// environment, validated as a whole and printed at start-up with secrets masked.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tigerfans::config {

enum class AccountingBackend { tigerbeetle, postgres };
enum class SessionBackend { redis, postgres };

struct Config {
    std::string host;
    std::uint16_t port = 0;
    std::uint32_t server_processes = 1;  // Above 1: PORT is shared (SO_REUSEPORT).
    std::string server_name;             // Names this process in /healthz, /metrics, admin.
    std::uint16_t metrics_port = 0;      // This process's own /metrics and /healthz; 0: none.
    AccountingBackend accounting = AccountingBackend::tigerbeetle;
    SessionBackend sessions = SessionBackend::redis;
    std::string database_url;
    std::uint32_t pg_order_connections = 0;  // Order insert connections, one batch in flight each.
    std::string redis_url;
    std::string tb_address;
    std::uint64_t tb_cluster_id = 0;
    std::string tb_client_lib;
    std::uint32_t tb_batch_events_max = 0;
    std::uint32_t tb_batches_in_flight = 0;
    std::string mock_secret;
    std::string mock_webhook_url;
    std::string session_secret;
    std::string admin_username;
    std::string admin_password;
    std::uint32_t reservation_ttl_s = 0;
    std::uint32_t tickets_per_email = 0;  // Paid or held tickets per email; 0: no limit.
    std::uint64_t capacity_a = 0;
    std::uint64_t capacity_b = 0;
    std::uint64_t goodie_limit = 0;
    std::string log_level;
    bool bench_endpoints = false;             // The isolated accounting calls, for benchmarks only.
    std::string metrics_token;                // Bearer token for /metrics; empty: admin login only.
    std::uint32_t reconcile_interval_s = 0;   // 0: no periodic reconciliation.
    std::uint32_t rate_limit_per_second = 0;  // Per client address; 0: no limit.
    std::uint32_t rate_limit_burst = 1;
    bool cookie_secure = false;  // Cookies the server sets go over HTTPS only.
    // The waiting room (queue/, flows/waiting_room).
    bool waiting_room = false;
    std::optional<std::int64_t> sale_opens_at_us;  // Unset: the sale opens when the server starts.
    std::uint32_t prequeue_minutes = 0;            // Joins this long before the sale: a raffle.
    std::uint32_t admit_per_second = 0;
    std::uint32_t admission_ttl_s = 0;      // How long an admission token stays valid.
    std::uint32_t admission_tickets = 0;    // Checkouts one admission token allows.
    std::uint64_t admit_holds_ceiling = 0;  // Admission pauses at this many active holds; 0: none.
    std::uint64_t queue_waiting_max = 0;    // Joins are refused at this many waiting; 0: never.
    std::string web_root;
    std::string venue;  // Reserved seating's venue file, by id or path; empty: none.
    std::string bench_results_dir;
};

enum class Kind { text, integer, choice };

struct Option {
    std::string_view name;
    Kind kind;
    std::string_view default_value;  // Empty with a derived default (see help).
    std::int64_t min = 0;            // Integers only.
    std::int64_t max = 0;
    std::vector<std::string_view> choices;  // Choices only.
    std::string_view unit;
    bool secret = false;
    std::string_view help;
    // Stores the validated value: text for text and choice options, number for integers.
    void (*assign)(Config& config, const std::string& text, std::int64_t number) = nullptr;
    // Text options with a form of their own: an error, or empty when `text` has the form.
    std::string (*validate)(const std::string& text) = nullptr;
};

// The table itself, in the order it is printed.
const std::vector<Option>& options();

using Lookup = std::function<std::optional<std::string>(std::string_view name)>;
Lookup environment_lookup();

struct LoadResult {
    Config config;
    std::vector<std::string> errors;  // One line per invalid option; empty when valid.
    bool ok() const { return errors.empty(); }
};

LoadResult load(const Lookup& lookup);

// "NAME = value (unit)" lines, secrets shown as "****".
std::vector<std::string> describe(const Config& config);

std::string_view backend_level_name(const Config& config);  // "tb/redis", "pg/redis", "pg/pg"

// The secrets and the admin password still at their documented defaults, by option name. A
// server listening beyond loopback refuses to start with any of them (load() says so).
std::vector<std::string_view> default_secrets(const Config& config);

// The venue file VENUE names: WEB_ROOT/venues/<id>.json, or VENUE itself when it is a path.
std::string venue_path(const Config& config);

// 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach.
bool is_loopback_host(std::string_view host);

// This server's own webhook URL, MOCK_WEBHOOK_URL's default: the address HOST names (loopback
// for the wildcard addresses, in brackets for IPv6), since the server listens on that one only.
std::string own_webhook_url(std::string_view host, std::uint16_t port);

}  // namespace tigerfans::config

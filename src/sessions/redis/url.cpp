// REDIS_URL parsing. Strict on purpose: credentials, unknown query parameters and malformed
// numbers are errors, not ignored, because the server must not start against a place the
// operator did not mean.
#include "sessions/redis/url.hpp"

#include <algorithm>
#include <charconv>

namespace tigerfans::sessions::redis {

namespace {

constexpr std::string_view tcp_scheme = "redis://";
constexpr std::string_view unix_scheme = "unix://";
constexpr std::uint16_t tcp_port_max = 65'535;

// Plain decimal digits only (no sign, no spaces), at most `max`.
std::optional<int> parse_number(std::string_view text, int max) {
    if (text.empty()) return std::nullopt;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
    }
    int value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value > max) {
        return std::nullopt;
    }
    return value;
}

ParsedUrl failure(std::string error) { return ParsedUrl{std::nullopt, std::move(error)}; }

ParsedUrl parsed_database(Endpoint endpoint, std::string_view text) {
    const std::optional<int> database = parse_number(text, database_index_max);
    if (!database) {
        return failure("REDIS_URL database must be a number from 0 to " +
                       std::to_string(database_index_max) + ", got '" + std::string(text) + "'");
    }
    endpoint.database = *database;
    return ParsedUrl{std::move(endpoint), {}};
}

// Splits `host[:port]` or `[v6-host][:port]`; false when malformed.
bool split_authority(std::string_view authority, std::string_view& host, std::string_view& port) {
    std::string_view rest;
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return false;
        host = authority.substr(1, close - 1);
        rest = authority.substr(close + 1);
    } else {
        const std::size_t colon = std::min(authority.find(':'), authority.size());
        host = authority.substr(0, colon);
        rest = authority.substr(colon);
    }
    port = {};
    if (rest.empty()) return true;
    if (!rest.starts_with(':') || rest.size() == 1) return false;
    port = rest.substr(1);
    return true;
}

ParsedUrl parse_tcp(std::string_view rest) {
    if (rest.find('@') != std::string_view::npos) {
        return failure("REDIS_URL with credentials is not supported");
    }
    if (rest.find('?') != std::string_view::npos) {
        return failure("REDIS_URL over TCP takes no query; put the database in the path");
    }
    const std::size_t slash = std::min(rest.find('/'), rest.size());
    std::string_view host;
    std::string_view port_text;
    if (!split_authority(rest.substr(0, slash), host, port_text) || host.empty()) {
        return failure("REDIS_URL needs host[:port], as in redis://127.0.0.1:6379/0");
    }
    Endpoint endpoint;
    endpoint.transport = Endpoint::Transport::tcp;
    endpoint.host = std::string(host);
    endpoint.port = default_tcp_port;
    if (!port_text.empty()) {
        const std::optional<int> port = parse_number(port_text, tcp_port_max);
        if (!port || *port == 0) {
            return failure("REDIS_URL port must be 1 to 65535, got '" + std::string(port_text) +
                           "'");
        }
        endpoint.port = static_cast<std::uint16_t>(*port);
    }
    const std::string_view path = rest.substr(slash);
    if (path.empty() || path == "/") return ParsedUrl{std::move(endpoint), {}};
    return parsed_database(std::move(endpoint), path.substr(1));
}

ParsedUrl parse_unix(std::string_view rest) {
    const std::size_t question = std::min(rest.find('?'), rest.size());
    const std::string_view path = rest.substr(0, question);
    if (!path.starts_with('/') || path.size() < 2 || path.ends_with('/')) {
        return failure(
            "REDIS_URL unix socket needs an absolute path, as in "
            "unix:///run/redis.sock?db=0");
    }
    Endpoint endpoint;
    endpoint.transport = Endpoint::Transport::unix_socket;
    endpoint.socket_path = std::string(path);
    const std::string_view query = rest.substr(question);
    if (query.empty() || query == "?") return ParsedUrl{std::move(endpoint), {}};
    constexpr std::string_view database_parameter = "?db=";
    if (!query.starts_with(database_parameter)) {
        return failure("REDIS_URL unix socket takes only the query parameter db, got '" +
                       std::string(query) + "'");
    }
    return parsed_database(std::move(endpoint), query.substr(database_parameter.size()));
}

}  // namespace

ParsedUrl parse_url(std::string_view url) {
    if (url.starts_with(tcp_scheme)) return parse_tcp(url.substr(tcp_scheme.size()));
    if (url.starts_with(unix_scheme)) return parse_unix(url.substr(unix_scheme.size()));
    return failure("REDIS_URL must start with redis:// or unix://, got '" + std::string(url) + "'");
}

std::string describe(const Endpoint& endpoint) {
    const std::string database = " db " + std::to_string(endpoint.database);
    if (endpoint.transport == Endpoint::Transport::unix_socket) {
        return "unix " + endpoint.socket_path + database;
    }
    return "tcp " + endpoint.host + ":" + std::to_string(endpoint.port) + database;
}

}  // namespace tigerfans::sessions::redis

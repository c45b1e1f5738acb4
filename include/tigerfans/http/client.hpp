// A keep-alive HTTP/1.1 client for one origin (Boost.Beast inside client.cpp). MockPay delivers
// webhooks with it; the tests and the load client drive the server with it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tigerfans/core/result.hpp"
#include "tigerfans/http/message.hpp"

namespace tigerfans::http {

struct ClientResponse {
    unsigned status = 0;
    Headers headers;
    std::string body;
    std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

struct ClientOptions {
    std::size_t connections_max;
    std::chrono::milliseconds timeout;
};
ClientOptions default_client_options();

// "http://host:port/path?query" split into its parts; nullopt for anything but plain http.
struct HttpUrl {
    std::string host;
    std::uint16_t port = 80;
    std::string target = "/";  // Path and query.
};
std::optional<HttpUrl> parse_http_url(std::string_view url);

// The Host field for a server at `host` and `port`: "host:port", an IPv6 address in brackets
// ("[::1]:8000"), since a server reads a bare one's last group as the port.
std::string host_field(std::string_view host, std::uint16_t port);

class Client {
public:
    Client(boost::asio::any_io_executor executor, std::string host, std::uint16_t port,
           ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Waits for a free connection when connections_max are busy. A request that fails on a
    // reused connection (the server closed it while idle) is retried once on a fresh one.
    boost::asio::awaitable<Result<ClientResponse>> request(Method method, std::string target,
                                                           std::string body = {},
                                                           Headers headers = {});

    // Closes idle connections; requests in progress finish normally.
    void close_idle();
    std::size_t open_connections() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace tigerfans::http

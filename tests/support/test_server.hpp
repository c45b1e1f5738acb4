// The server under test, in process: the real App (real PostgreSQL, Redis and, where
// available, TigerBeetle behind it) on its own thread and port, driven over HTTP by HttpDriver,
// which owns a client loop of its own so tests read like a fan's browser or a load client.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tigerfans/app/app.hpp"
#include "tigerfans/config/config.hpp"
#include "tigerfans/http/client.hpp"

namespace tigerfans::testing {

// Defaults of the config table, then HOST=127.0.0.1, PORT=0, no per-address rate limit (every
// test's requests come from one address), then `overrides`.
config::Config test_config(const std::map<std::string, std::string>& overrides);

class TestServer {
public:
    // Starts the app and waits until it listens. Throws when start-up fails.
    explicit TestServer(config::Config config);
    ~TestServer();  // Graceful stop, then join.
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    std::uint16_t port() const { return port_; }
    // Stops now (the destructor then only joins); returns the app's exit code.
    int stop();

private:
    std::unique_ptr<app::App> app_;
    std::thread thread_;
    std::uint16_t port_ = 0;
    int exit_code_ = -1;
    bool stopped_ = false;
};

// Status 0 means the request failed below HTTP (connection refused, timeout).
using Reply = http::ClientResponse;

class HttpDriver {
public:
    explicit HttpDriver(std::uint16_t port, std::size_t connections_max = 256);
    ~HttpDriver();

    Reply get(const std::string& target, http::Headers headers = {});
    Reply post(const std::string& target, std::string body, http::Headers headers = {});
    Reply post_json(const std::string& target, const std::string& json);
    Reply post_form(const std::string& target, const std::string& form, http::Headers headers = {});
    Reply send(http::Method method, const std::string& target, std::string body,
               http::Headers headers);

    // Runs `count` requests made by `make(i, client)`, at most `concurrency` at once.
    using Call = std::function<boost::asio::awaitable<Reply>(int index, http::Client& client)>;
    std::vector<Reply> run_concurrently(int count, int concurrency, const Call& make);

    http::Client& client() { return *client_; }
    boost::asio::io_context& io() { return io_; }

private:
    boost::asio::io_context io_;
    std::unique_ptr<http::Client> client_;
};

// Converts a client result: a fault becomes status 0 with the fault's name as body.
Reply to_reply(Result<http::ClientResponse> result);

}  // namespace tigerfans::testing

// In-process server and HTTP driver for the integration tests.
#include "support/test_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <future>
#include <stdexcept>

#include "support/run_async.hpp"

namespace tigerfans::testing {

namespace asio = boost::asio;

config::Config test_config(const std::map<std::string, std::string>& overrides) {
    std::map<std::string, std::string> values = {{"HOST", "127.0.0.1"},
                                                 {"PORT", "0"},
                                                 {"LOG_LEVEL", "warn"},
                                                 {"RATE_LIMIT_PER_SECOND", "0"}};
    for (const auto& [name, value] : overrides) values[name] = value;
    const config::LoadResult loaded = config::load([&](std::string_view name) {
        const auto found = values.find(std::string(name));
        return found == values.end() ? std::nullopt : std::optional<std::string>(found->second);
    });
    if (!loaded.ok()) throw std::runtime_error("bad test config: " + loaded.errors.front());
    return loaded.config;
}

TestServer::TestServer(config::Config config)
    : app_(std::make_unique<app::App>(std::move(config))) {
    std::promise<std::uint16_t> listening;
    auto ready = listening.get_future();
    thread_ = std::thread([this, &listening] {
        bool announced = false;
        exit_code_ = app_->run(false, [&](std::uint16_t port) {
            announced = true;
            listening.set_value(port);
        });
        if (!announced) listening.set_value(0);
    });
    if (ready.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
        throw std::runtime_error("the server did not start within 60 s");
    }
    port_ = ready.get();
    if (port_ == 0) {
        thread_.join();
        stopped_ = true;
        throw std::runtime_error("the server failed to start (exit code " +
                                 std::to_string(exit_code_) + ")");
    }
}

TestServer::~TestServer() { stop(); }

int TestServer::stop() {
    if (!stopped_) {
        app_->stop();
        thread_.join();
        stopped_ = true;
    }
    return exit_code_;
}

Reply to_reply(Result<http::ClientResponse> result) {
    if (result) return std::move(*result);
    Reply failed;
    failed.body = std::string(fault_name(result.fault()));
    return failed;
}

HttpDriver::HttpDriver(std::uint16_t port, std::size_t connections_max)
    : client_(std::make_unique<http::Client>(
          io_.get_executor(), "127.0.0.1", port,
          http::ClientOptions{connections_max, std::chrono::milliseconds(30'000)})) {}

HttpDriver::~HttpDriver() {
    client_.reset();
    io_.restart();
    io_.poll();
}

Reply HttpDriver::send(http::Method method, const std::string& target, std::string body,
                       http::Headers headers) {
    return run_async(io_, [&]() -> asio::awaitable<Reply> {
        co_return to_reply(
            co_await client_->request(method, target, std::move(body), std::move(headers)));
    });
}

Reply HttpDriver::get(const std::string& target, http::Headers headers) {
    return send(http::Method::get, target, {}, std::move(headers));
}

Reply HttpDriver::post(const std::string& target, std::string body, http::Headers headers) {
    return send(http::Method::post, target, std::move(body), std::move(headers));
}

Reply HttpDriver::post_json(const std::string& target, const std::string& json) {
    return post(target, json, {{"Content-Type", "application/json"}});
}

Reply HttpDriver::post_form(const std::string& target, const std::string& form,
                            http::Headers headers) {
    headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return post(target, form, std::move(headers));
}

std::vector<Reply> HttpDriver::run_concurrently(int count, int concurrency, const Call& make) {
    std::vector<Reply> replies(static_cast<std::size_t>(count));
    int next = 0;
    int finished = 0;
    const auto worker = [&]() -> asio::awaitable<void> {
        while (next < count) {
            const int index = next++;
            replies[static_cast<std::size_t>(index)] = co_await make(index, *client_);
            finished++;
        }
    };
    for (int i = 0; i < std::min(concurrency, count); i++) {
        asio::co_spawn(io_, worker(), asio::detached);
    }
    io_.restart();
    while (finished < count && io_.run_one() > 0) {
    }
    return replies;
}

}  // namespace tigerfans::testing

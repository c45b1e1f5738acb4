// The HTTP server at the byte level, with no store behind it: what a response looks like on the
// wire (status line, header order, Content-Length, HEAD), keep-alive and pipelining, when the
// connection closes (Connection: close, HTTP/1.0, a handler's close, malformed and oversized
// requests), the idle timeout, the connection limit and graceful shutdown. Raw blocking sockets
// on the test thread talk to the server on its own loop thread.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"
#include "tigerfans/http/server.hpp"

namespace tigerfans::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// How long /slow takes: the request in flight that a graceful shutdown waits for.
constexpr std::chrono::milliseconds slow_handler{300};

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// `slow_started` counts the /slow requests that reached their handler.
Router test_router(std::atomic<int>& slow_started) {
    Router router;
    router.get("/hello", [](Request&) -> asio::awaitable<Response> {
        co_return Response::text(200, "hello world", "text/plain");
    });
    router.get("/redirect", [](Request&) -> asio::awaitable<Response> {
        co_return Response::redirect("/there")
            .with_header("Set-Cookie", "a=1")
            .with_header("Set-Cookie", "b=2");
    });
    router.get("/close", [](Request&) -> asio::awaitable<Response> {
        Response response = Response::json(200, "{}");
        response.close = true;
        co_return response;
    });
    router.get("/slow", [&slow_started](Request&) -> asio::awaitable<Response> {
        slow_started++;
        co_await sleep_for(slow_handler);
        co_return Response::text(200, "slow", "text/plain");
    });
    router.post("/echo", [](Request& request) -> asio::awaitable<Response> {
        co_return Response::text(200, std::string(request.header("x-tag")) + ":" + request.body,
                                 "text/plain");
    });
    return router;
}

ServerLimits test_limits() {
    ServerLimits limits = default_server_limits();
    limits.idle_timeout = 300ms;
    return limits;
}

// The server on its own loop thread.
class ServerThread {
public:
    explicit ServerThread(ServerLimits limits = test_limits(), std::uint16_t port = 0,
                          PortSharing sharing = PortSharing::exclusive,
                          bool loopback_hosts_only = false)
        : router_(test_router(slow_started_)), server_(io_, router_, limits, registry_) {
        if (loopback_hosts_only) server_.answer_only_loopback_hosts();
        port_ = server_.listen("127.0.0.1", port, sharing);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~ServerThread() {
        if (!stopped_) shutdown(100ms);
        thread_.join();
    }

    std::uint16_t port() const { return port_; }

    // Waits until a /slow request is in its handler; false if none gets there within 5 s.
    bool slow_request_started() {
        return testing::wait_until([this] { return slow_started_ > 0; }, 5s);
    }

    // How many accepts failed so far, read on the server's loop.
    std::uint64_t accept_failures() {
        std::promise<std::uint64_t> value;
        asio::post(io_, [&] {
            const metrics::Counter* counter =
                registry_.find_counter("tigerfans_http_accept_failures_total", "");
            value.set_value(counter == nullptr ? 0 : counter->value());
        });
        return value.get_future().get();
    }

    // How many connections are open, read on the server's loop.
    std::size_t connections() {
        std::promise<std::size_t> value;
        asio::post(io_, [&] { value.set_value(server_.connection_count()); });
        return value.get_future().get();
    }

    // Runs the server's graceful shutdown on its loop; returns how long it took.
    std::chrono::milliseconds shutdown(std::chrono::milliseconds drain_timeout) {
        stopped_ = true;
        std::promise<void> done;
        const auto started = std::chrono::steady_clock::now();
        asio::co_spawn(io_, server_.shutdown(drain_timeout),
                       [&](std::exception_ptr) { done.set_value(); });
        done.get_future().wait();
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
    }

private:
    asio::io_context io_;
    metrics::Registry registry_;
    std::atomic<int> slow_started_ = 0;
    Router router_;
    Server server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    bool stopped_ = false;
};

// A raw client connection on the test thread.
class RawClient {
public:
    explicit RawClient(std::uint16_t port) : socket_(io_) {
        socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }

    // The server may answer and close before all of an oversized request is written: the
    // answer is what the tests check, so a failed write is not an error here.
    void send(const std::string& bytes) {
        boost::system::error_code ignored;
        asio::write(socket_, asio::buffer(bytes), ignored);
    }

    // Ends the sending side: the server reads the end of the stream.
    void close_sending() {
        boost::system::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
    }

    // One whole response (head, then Content-Length bytes of body unless `head_request`).
    std::string response(bool head_request = false) {
        while (buffered_.find("\r\n\r\n") == std::string::npos) {
            if (!read_more()) return std::exchange(buffered_, {});
        }
        const std::size_t head_bytes = buffered_.find("\r\n\r\n") + 4;
        const std::size_t length_at = buffered_.find("Content-Length: ");
        std::size_t length = 0;
        if (!head_request && length_at < head_bytes) {
            length = std::stoul(buffered_.substr(length_at + 16));
        }
        while (buffered_.size() < head_bytes + length && read_more()) {
        }
        std::string message = buffered_.substr(0, head_bytes + length);
        buffered_.erase(0, message.size());
        return message;
    }

    // True when the server closed the connection (and sent nothing more) within `wait`: poll
    // wakes up on the close (or on bytes, which mean it is still open).
    bool closed_within(std::chrono::milliseconds wait) {
        pollfd readable{socket_.native_handle(), POLLIN, 0};
        if (::poll(&readable, 1, static_cast<int>(wait.count())) != 1) return false;
        char byte;
        boost::system::error_code error;
        const std::size_t read = socket_.read_some(asio::buffer(&byte, 1), error);
        return read == 0 && error;
    }

private:
    bool read_more() {
        char chunk[4096];
        boost::system::error_code error;
        const std::size_t read = socket_.read_some(asio::buffer(chunk), error);
        buffered_.append(chunk, read);
        return !error;
    }

    asio::io_context io_;
    tcp::socket socket_;
    std::string buffered_;
};

std::string get(std::string_view target, std::string_view extra = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) +
           "\r\n";
}

const std::string hello_answer =
    "HTTP/1.1 200 OK\r\nServer: tigerfans\r\nContent-Type: text/plain\r\n"
    "Content-Length: 11\r\n\r\nhello world";

TEST(HttpServer, AnswersWithStatusLineServerTypeAndLengthAndKeepsTheConnection) {
    ServerThread server;
    RawClient client(server.port());
    for (int i = 0; i < 3; i++) {
        client.send(get("/hello"));
        EXPECT_EQ(client.response(), hello_answer);
    }
}

std::string get_for_host(std::string_view host) {
    return "GET /hello HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
}

// A server told to answer only loopback hosts refuses another name, which reached it through
// DNS that points here (a page's name re-pointed at 127.0.0.1), with 421 and the reason, and
// the connection serves on.
TEST(HttpServer, AnswersOnlyRequestsForALoopbackHostWhenToldTo) {
    ServerThread server(test_limits(), 0, PortSharing::exclusive, true);
    RawClient client(server.port());
    for (const std::string_view host : {"localhost", "LocalHost:8000", "127.0.0.1", "127.1.2.3:80",
                                        "[::1]:8000", "app.localhost", "localhost."}) {
        client.send(get_for_host(host));
        EXPECT_EQ(client.response(), hello_answer) << host;
    }
    for (const std::string_view host :
         {"evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.1.evil.example",
          "evillocalhost", "10.0.0.1", "[::2]:8000", "127.0.0", "127.0.0.1.2"}) {
        client.send(get_for_host(host));
        const std::string answer = client.response();
        EXPECT_TRUE(answer.starts_with("HTTP/1.1 421 ")) << host << ": " << answer;
        EXPECT_NE(answer.find(R"("error":"misdirected_request")"), std::string::npos) << answer;
    }
    client.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");  // No authority.
    EXPECT_NE(client.response().find("hello world"), std::string::npos);
}

// Otherwise a server serves whatever host its clients name.
TEST(HttpServer, AnswersAnyHostUnlessTold) {
    ServerThread server;
    RawClient client(server.port());
    client.send(get_for_host("shop.example"));
    EXPECT_EQ(client.response(), hello_answer);
}

// Servers that share a port (as several processes do with SERVER_PROCESSES) each take a share of
// the new connections; one that stops leaves the port to the others; and a server that did not
// ask to share cannot take a shared port.
TEST(HttpServer, ServersSharingAPortEachTakeConnectionsAndOutliveEachOther) {
    auto first = std::make_unique<ServerThread>(test_limits(), 0, PortSharing::shared);
    ServerThread second(test_limits(), first->port(), PortSharing::shared);
    ASSERT_EQ(second.port(), first->port());
    EXPECT_THROW(ServerThread(test_limits(), first->port()), boost::system::system_error);
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 32; i++) {
        clients.push_back(std::make_unique<RawClient>(first->port()));
        clients.back()->send(get("/hello"));
        EXPECT_EQ(clients.back()->response(), hello_answer);
    }
    // 32 connections land on one listener with a chance of 2^-31.
    EXPECT_GT(first->connections(), 0u);
    EXPECT_GT(second.connections(), 0u);
    EXPECT_EQ(first->connections() + second.connections(), clients.size());
    clients.clear();
    first->shutdown(100ms);
    first.reset();
    for (int i = 0; i < 8; i++) {
        RawClient client(second.port());
        client.send(get("/hello"));
        EXPECT_EQ(client.response(), hello_answer) << i;
    }
}

TEST(HttpServer, AnswersHeadWithTheHeadersOfGetAndNoBody) {
    ServerThread server;
    RawClient client(server.port());
    client.send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    EXPECT_EQ(client.response(true), hello_answer.substr(0, hello_answer.size() - 11));
    client.send(get("/hello"));  // No stray body bytes came before this answer.
    EXPECT_EQ(client.response(), hello_answer);
}

TEST(HttpServer, KeepsExtraHeadersInTheirOrderAfterTheContentType) {
    ServerThread server;
    RawClient client(server.port());
    client.send(get("/redirect"));
    EXPECT_EQ(client.response(),
              "HTTP/1.1 303 See Other\r\nServer: tigerfans\r\n"
              "Content-Type: text/plain; charset=utf-8\r\nLocation: /there\r\n"
              "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpServer, AnswersPipelinedRequestsInOrder) {
    ServerThread server;
    RawClient client(server.port());
    client.send(get("/hello") +
                "POST /echo HTTP/1.1\r\nHost: t\r\nX-Tag: two\r\nContent-Length: 4\r\n\r\nbody" +
                get("/hello"));
    EXPECT_EQ(client.response(), hello_answer);
    const std::string echo = client.response();
    EXPECT_TRUE(echo.starts_with("HTTP/1.1 200 OK\r\n")) << echo;
    EXPECT_TRUE(echo.ends_with("\r\n\r\ntwo:body")) << echo;
    EXPECT_EQ(client.response(), hello_answer);
}

TEST(HttpServer, ClosesAfterAnswerWhenTheClientAsksForIt) {
    ServerThread server;
    RawClient client(server.port());
    client.send(get("/hello", "Connection: close\r\n"));
    const std::string answer = client.response();
    EXPECT_TRUE(answer.ends_with("Content-Length: 11\r\nConnection: close\r\n\r\nhello world"))
        << answer;
    EXPECT_TRUE(client.closed_within(1s));
}

TEST(HttpServer, ClosesAfterAnswerToHttp10UnlessKeepAliveIsAsked) {
    ServerThread server;
    RawClient plain(server.port());
    plain.send("GET /hello HTTP/1.0\r\n\r\n");
    EXPECT_NE(plain.response().find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(plain.closed_within(1s));

    RawClient kept(server.port());
    kept.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(kept.response(), hello_answer);
    kept.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(kept.response(), hello_answer);
}

TEST(HttpServer, ClosesWhenTheHandlerAsksForIt) {
    ServerThread server;
    RawClient client(server.port());
    client.send(get("/close"));
    EXPECT_NE(client.response().find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(client.closed_within(1s));
}

TEST(HttpServer, AnswersAMalformedRequestWith400AndCloses) {
    ServerThread server;
    RawClient client(server.port());
    client.send("GET /hello HTTP/1.1\r\nHost: h\r\nBad Header Line\r\n\r\n");
    const std::string answer = client.response();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 Bad Request\r\n")) << answer;
    EXPECT_NE(answer.find("Content-Type: application/json\r\n"), std::string::npos);
    EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos);
    EXPECT_NE(answer.find(R"({"detail":")"), std::string::npos);
    EXPECT_NE(answer.find(R"("error":"bad_request"})"), std::string::npos);
    EXPECT_TRUE(client.closed_within(1s));
}

// A body framed by an unknown Transfer-Encoding is refused with 400 and the connection closed:
// the smuggled request behind it is never run (it would be a desync behind any proxy).
// An HTTP/1.1 request without Host gets a 400 whose body says so.
TEST(HttpServer, AnswersAnHttp11RequestWithoutHostWith400) {
    ServerThread server;
    RawClient client(server.port());
    client.send("GET /hello HTTP/1.1\r\n\r\n");
    const std::string answer = client.response();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 Bad Request\r\n")) << answer;
    EXPECT_NE(answer.find("needs a Host field"), std::string::npos) << answer;
}

TEST(HttpServer, RefusesAnUnframedTransferEncodingAndRunsNothingBehindIt) {
    ServerThread server;
    RawClient client(server.port());
    client.send(
        "POST /hello HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"
        "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
    const std::string answer = client.response();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 Bad Request\r\n")) << answer;
    EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(client.closed_within(1s));
    EXPECT_EQ(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
}

TEST(HttpServer, AnswersAPathThatIsNotUtf8With404AndKeepsServing) {
    ServerThread server;
    RawClient client(server.port());
    client.send(get("/%FF"));
    const std::string answer = client.response();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 404 Not Found\r\n")) << answer;
    EXPECT_NE(answer.find("no route for /\xEF\xBF\xBD"), std::string::npos) << answer;
    client.send(get("/hello"));
    EXPECT_EQ(client.response(), hello_answer);
}

TEST(HttpServer, AnswersOversizedHeadersAndBodiesWith413) {
    ServerThread server;
    RawClient headers(server.port());
    headers.send(get("/hello", "X-Padding: " + std::string(17 * 1024, 'x') + "\r\n"));
    EXPECT_TRUE(headers.response().starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
    EXPECT_TRUE(headers.closed_within(1s));

    RawClient body(server.port());
    body.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 70000\r\n\r\n" +
              std::string(70000, 'x'));
    const std::string answer = body.response();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << answer;
    EXPECT_NE(answer.find("payload_too_large"), std::string::npos);
}

// A chunk's size line or a trailer that never ends would otherwise be buffered whole until the
// idle timeout: past the header limit (16 KiB) it is refused at once.
TEST(HttpServer, AnswersAnEndlessChunkLineOrTrailerWith413) {
    ServerThread server;
    const std::string head = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    RawClient extension(server.port());
    extension.send(head + "1;" + std::string(20 * 1024, 'a'));
    EXPECT_TRUE(extension.response().starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
    EXPECT_TRUE(extension.closed_within(1s));

    std::string trailer;
    while (trailer.size() <= 20 * 1024) trailer += "A: b\r\n";
    RawClient trailers(server.port());
    trailers.send(head + "1\r\nx\r\n0\r\n" + trailer);
    EXPECT_TRUE(trailers.response().starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
    EXPECT_TRUE(trailers.closed_within(1s));
}

// A client still writing a body the server refused gets its answer: the server reads and drops
// what else comes (a close with unread bytes would reset the connection under the answer),
// and closes once the client has closed its side.
TEST(HttpServer, ReadsTheRestOfARefusedBodyUntilTheClientIsDone) {
    ServerThread server;
    RawClient client(server.port());
    client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\n\r\n" +
                std::string(1000, 'x'));
    EXPECT_TRUE(client.response().starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
    client.send(std::string(50'000, 'x'));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(server.connections(), 1u);  // Still reading what the client sends.
    client.close_sending();               // Well before the linger's 2 s are up.
    EXPECT_TRUE(testing::wait_until([&] { return server.connections() == 0; }, 500ms));
}

// RFC 9110 §10.1.1: a client that waits for a 100 Continue before its body gets one (only
// once the header is accepted), then the answer.
TEST(HttpServer, AnswersExpect100ContinueBeforeTheBody) {
    ServerThread server;
    RawClient client(server.port());
    client.send(
        "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    EXPECT_EQ(client.response(), "HTTP/1.1 100 Continue\r\n\r\n");
    client.send("hello");
    const std::string answer = client.response();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
    EXPECT_TRUE(answer.ends_with("hello")) << answer;

    RawClient old(server.port());  // HTTP/1.0 knows no 100 (RFC 9110 §10.1.1): none is sent.
    old.send("POST /echo HTTP/1.0\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    std::this_thread::sleep_for(50ms);
    old.send("hi");
    EXPECT_TRUE(old.response().starts_with("HTTP/1.1 200 OK\r\n"));

    RawClient big(server.port());  // Too large: the 413 comes instead, at once.
    big.send(
        "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 99999\r\n\r\n");
    EXPECT_TRUE(big.response().starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
}

TEST(HttpServer, ClosesIdleAndHalfSentConnectionsAfterTheIdleTimeout) {
    ServerThread server;
    RawClient idle(server.port());
    RawClient half(server.port());
    half.send("GET /hello HTTP/1.1\r\nHo");
    RawClient busy(server.port());
    busy.send(get("/hello"));
    EXPECT_EQ(busy.response(), hello_answer);
    EXPECT_FALSE(idle.closed_within(100ms));
    EXPECT_TRUE(idle.closed_within(2s));
    EXPECT_TRUE(half.closed_within(2s));
}

TEST(HttpServer, RefusesConnectionsOverTheLimitWith503) {
    ServerLimits limits = test_limits();
    limits.connections_max = 1;
    ServerThread server(limits);
    RawClient first(server.port());
    first.send(get("/hello"));
    EXPECT_EQ(first.response(), hello_answer);
    RawClient second(server.port());
    const std::string answer = second.response();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << answer;
    EXPECT_NE(answer.find("too many open connections"), std::string::npos);
    EXPECT_TRUE(second.closed_within(1s));
}

// One address cannot take every slot: past its cap it gets 503, and a slot it frees is its
// own again.
TEST(HttpServer, RefusesConnectionsOverThePerAddressCapWith503) {
    ServerLimits limits = test_limits();
    limits.connections_per_address_max = 2;
    ServerThread server(limits);
    std::vector<std::unique_ptr<RawClient>> held;
    for (int i = 0; i < 2; i++) {
        held.push_back(std::make_unique<RawClient>(server.port()));
        held.back()->send(get("/hello"));
        EXPECT_EQ(held.back()->response(), hello_answer);
    }
    RawClient third(server.port());
    const std::string answer = third.response();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << answer;
    EXPECT_TRUE(third.closed_within(1s));
    held.front().reset();  // Closing one frees its slot once the server has seen the close.
    EXPECT_TRUE(testing::wait_until(
        [&] {
            RawClient again(server.port());
            again.send(get("/hello"));
            return again.response() == hello_answer;
        },
        2s));
}

// Takes every free descriptor below a lowered open-files limit, and gives all back at the end.
class DescriptorFiller {
public:
    DescriptorFiller() {
        EXPECT_EQ(getrlimit(RLIMIT_NOFILE, &saved_), 0);
        rlimit lowered = saved_;
        lowered.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, highest_open() + 64);
        EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
        for (int fd = ::open("/dev/null", O_RDONLY); fd >= 0; fd = ::open("/dev/null", O_RDONLY)) {
            fds_.push_back(fd);
        }
        full_errno_ = errno;
    }
    ~DescriptorFiller() {
        release();
        setrlimit(RLIMIT_NOFILE, &saved_);
    }
    int full_errno() const { return full_errno_; }
    void give_back_one() {
        ::close(fds_.back());
        fds_.pop_back();
    }
    void release() {
        for (int fd : fds_) ::close(fd);
        fds_.clear();
    }

private:
    static rlim_t highest_open() {
        rlim_t highest = 0;
        for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
            highest = std::max<rlim_t>(highest, std::stoul(entry.path().filename().string()));
        }
        return highest;
    }

    rlimit saved_{};
    std::vector<int> fds_;
    int full_errno_ = 0;
};

// Out of descriptors, the accept loop pauses (10 ms doubling to 1 s) instead of spinning, and
// accepts the waiting connection once a descriptor frees.
TEST(HttpServer, RunningOutOfDescriptorsPausesAcceptingAndRecovers) {
#ifdef TIGERFANS_SANITIZED
    // UBSan's vptr check probes memory through a pipe, which needs a free descriptor: with
    // none it reports every unchecked dynamic type as invalid. The plain build runs this test.
    GTEST_SKIP() << "skipped under sanitizers: they need free descriptors themselves";
#endif
    ServerThread server;
    std::chrono::steady_clock::duration five_failures_took{};
    std::uint64_t failures = 0;
    std::string answer;
    {
        DescriptorFiller filler;
        ASSERT_EQ(filler.full_errno(), EMFILE);
        filler.give_back_one();  // For the client's socket (plain POSIX: one descriptor).
        const int client = ::socket(AF_INET, SOCK_STREAM, 0);
        ASSERT_GE(client, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(server.port());
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const auto connecting = std::chrono::steady_clock::now();
        ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
        // The server cannot accept it (no descriptor). The time five failures take is what
        // this test measures: with the pause at least 10 + 20 + 40 + 80 ms, without it far
        // less.
        ASSERT_TRUE(testing::wait_until([&] { return server.accept_failures() >= 5; }, 5s));
        five_failures_took = std::chrono::steady_clock::now() - connecting;
        filler.release();
        failures = server.accept_failures();
        const std::string request = get("/hello");
        ASSERT_EQ(::send(client, request.data(), request.size(), 0),
                  static_cast<ssize_t>(request.size()));
        const timeval wait{3, 0};
        ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
        char buffer[4096];
        while (answer.size() < hello_answer.size()) {
            const ssize_t got = ::recv(client, buffer, sizeof(buffer), 0);
            if (got <= 0) break;
            answer.append(buffer, static_cast<std::size_t>(got));
        }
        ::close(client);
    }
    EXPECT_EQ(answer, hello_answer);
    // Without the pause the loop fails hundreds of thousands of times a second; with it, 10,
    // 20, 40, 80 ms apart, and a few more while the descriptors come back.
    EXPECT_GE(five_failures_took, 150ms);
    EXPECT_GE(failures, 5u);
    EXPECT_LE(failures, 12u);
}

// The open-files limit is raised to its hard limit and the connection cap stays below it.
TEST(HttpServer, TheConnectionCapFitsTheOpenFilesLimit) {
    const std::uint64_t open_files = raise_open_files_limit();
    ASSERT_GT(open_files, 0u);
    rlimit files{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
    EXPECT_EQ(files.rlim_cur, files.rlim_max);
    EXPECT_LT(default_server_limits().connections_max, open_files);
}

TEST(HttpServer, ShutdownFinishesRequestsInFlightAndClosesIdleConnections) {
    ServerThread server;
    RawClient idle(server.port());
    RawClient busy(server.port());
    busy.send(get("/slow"));
    ASSERT_TRUE(server.slow_request_started());
    const auto took = server.shutdown(5s);
    EXPECT_LT(took, 2s);
    EXPECT_TRUE(idle.closed_within(1s));
    const std::string answer = busy.response();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
    EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(answer.ends_with("slow"));
    EXPECT_TRUE(busy.closed_within(1s));
    boost::system::error_code refused;
    asio::io_context io;
    tcp::socket late(io);
    late.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()), refused);
    EXPECT_TRUE(refused);
}

TEST(HttpServer, ShutdownForceClosesWhatOutlivesTheDrainDeadline) {
    ServerThread server;
    RawClient busy(server.port());
    busy.send(get("/slow"));
    ASSERT_TRUE(server.slow_request_started());
    const auto took = server.shutdown(50ms);
    EXPECT_LT(took, slow_handler);
    EXPECT_TRUE(busy.closed_within(2s));
}

}  // namespace
}  // namespace tigerfans::http

// tigerfans-http-floor: the least a server on this machine spends on one HTTP request. One
// thread, kept-alive loopback connections, each request parsed by Beast's parser as the
// server's is, and every answer the same preformatted bytes (200 and a short JSON body) written
// at once: no routing, store, log, limit or formatting. The server does all of that and more
// per request, so its CPU per request cannot be below this. The load client's healthz phase
// times it (with --server-pid, its CPU per request).
//   tigerfans-http-floor --port 8123      (listens on 127.0.0.1; stops on SIGINT or SIGTERM)
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kept_answer =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
    R"({"ok":true})";
constexpr std::string_view closing_answer =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
    "Connection: close\r\n\r\n"
    R"({"ok":true})";
constexpr std::chrono::milliseconds accept_pause{10};

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr,
                 "tigerfans-http-floor: %s\n"
                 "usage: tigerfans-http-floor --port PORT\n"
                 "Answers every request on 127.0.0.1:PORT with 200 and a fixed JSON body.\n",
                 problem.c_str());
    std::exit(2);
}

unsigned short parse_port(int argc, char** argv) {
    if (argc != 3 || std::string_view(argv[1]) != "--port") usage("needs --port");
    char* end = nullptr;
    const long port = std::strtol(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0' || port < 1 || port > 65535) {
        usage("--port needs a number in [1, 65535]");
    }
    return static_cast<unsigned short>(port);
}

// Read, answer, repeat while the client keeps the connection; any error ends it. A request
// with a body is refused (this answers only GETs).
asio::awaitable<void> serve(tcp::socket socket) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    boost::beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        auto [read_error, read] = co_await http::async_read(socket, buffer, parser, use_tuple);
        if (read_error) co_return;
        const bool keep_alive = parser.keep_alive();
        const std::string_view answer = keep_alive ? kept_answer : closing_answer;
        auto [write_error, written] =
            co_await asio::async_write(socket, asio::buffer(answer), use_tuple);
        if (write_error || !keep_alive) co_return;
    }
}

// Out of descriptors, the loop waits a moment instead of spinning on the failing accept.
asio::awaitable<void> accept(tcp::acceptor& acceptor) {
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
        auto [error, socket] = co_await acceptor.async_accept(use_tuple);
        if (error == asio::error::operation_aborted) co_return;
        if (error) {
            pause.expires_after(accept_pause);
            co_await pause.async_wait(use_tuple);
            continue;
        }
        asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const unsigned short port = parse_port(argc, argv);
    try {
        asio::io_context io{1};
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&io](boost::system::error_code, int) { io.stop(); });
        asio::co_spawn(io, accept(acceptor), asio::detached);
        std::printf("tigerfans-http-floor: listening on 127.0.0.1:%u\n", port);
        std::fflush(stdout);
        io.run();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "tigerfans-http-floor: %s\n", error.what());
        return 1;
    }
    return 0;
}

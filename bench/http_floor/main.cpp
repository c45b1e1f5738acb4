// tigerfans-http-floor: the least a server on this machine spends on one HTTP request. One
// thread, Boost.Beast over kept-alive loopback connections, every request answered 200 with the
// same short JSON body: no routing, no store, no log, no limits. The load client's healthz phase
// times it (with --server-pid, its CPU per request), so the server's CPU per flow ticket can be
// read against what its requests cost before any of its own work.
//   tigerfans-http-floor --port 8123      (listens on 127.0.0.1; stops on SIGINT or SIGTERM)
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
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
constexpr std::string_view answer_body = R"({"ok":true})";

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

// Read, answer, repeat while the client keeps the connection; any error ends it.
asio::awaitable<void> serve(tcp::socket socket) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    boost::beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> request;
        auto [read_error, read] = co_await http::async_read(socket, buffer, request, use_tuple);
        if (read_error) co_return;
        http::response<http::string_body> response(http::status::ok, request.version());
        response.set(http::field::content_type, "application/json");
        response.keep_alive(request.keep_alive());
        response.body() = answer_body;
        response.prepare_payload();
        auto [write_error, written] = co_await http::async_write(socket, response, use_tuple);
        if (write_error || !response.keep_alive()) co_return;
    }
}

asio::awaitable<void> accept(tcp::acceptor& acceptor) {
    for (;;) {
        auto [error, socket] = co_await acceptor.async_accept(use_tuple);
        if (error == asio::error::operation_aborted) co_return;
        if (error) continue;  // Out of descriptors, a peer gone before the accept: go on.
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

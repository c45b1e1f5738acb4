// The keep-alive client's pool against a plain loopback peer on the test's own loop: how many
// connections it opens when many requests start at once, and the retry of a request whose idle
// connection the peer had closed or answered with no status. The peer counts what it accepts
// and answers every request after a short pause, so requests overlap.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "tigerfans/http/client.hpp"

namespace tigerfans::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct PeerCounts {
    std::size_t accepted = 0;
    std::size_t live = 0;
    std::size_t most_live = 0;
    std::size_t answered = 0;
};

// How the peer answers on each connection.
enum class PeerManner {
    keep_alive,
    close_after_answer,  // Closes once it has answered, without saying so (an idle timeout).
    zero_status_second,  // Answers a connection's second request with status "000".
};

class CountingPeer {
public:
    CountingPeer(asio::io_context& io, PeerManner manner)
        : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), manner_(manner) {
        asio::co_spawn(io, accept_loop(), asio::detached);
    }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    const PeerCounts& counts() const { return counts_; }
    void stop() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
    }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            boost::system::error_code error;
            tcp::socket socket =
                co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, error));
            if (error) co_return;
            counts_.accepted++;
            counts_.live++;
            counts_.most_live = std::max(counts_.most_live, counts_.live);
            asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(tcp::socket socket) {
        std::string buffer;
        for (int request = 1;; request++) {
            boost::system::error_code error;
            const std::size_t head =
                co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n",
                                                asio::redirect_error(asio::use_awaitable, error));
            if (error) break;
            buffer.erase(0, head);
            asio::steady_timer pause(socket.get_executor(), 20ms);
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, error));
            const bool zero = manner_ == PeerManner::zero_status_second && request == 2;
            const std::string_view answer = zero ? "HTTP/1.1 000 None\r\nContent-Length: 0\r\n\r\n"
                                                 : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            co_await asio::async_write(socket, asio::buffer(answer),
                                       asio::redirect_error(asio::use_awaitable, error));
            if (error) break;
            counts_.answered++;
            if (manner_ == PeerManner::close_after_answer) break;
        }
        counts_.live--;
    }

    tcp::acceptor acceptor_;
    PeerManner manner_;
    PeerCounts counts_;
};

// Starts `count` GETs at once on `client` and runs the loop until every one has its answer;
// returns each one's status (0 for a fault).
std::vector<unsigned> get_at_once(asio::io_context& io, Client& client, int count) {
    std::vector<unsigned> statuses;
    for (int i = 0; i < count; i++) {
        asio::co_spawn(
            io,
            [&client, &statuses]() -> asio::awaitable<void> {
                auto response = co_await client.request(Method::get, "/");
                statuses.push_back(response ? response->status : 0);
            },
            asio::detached);
    }
    while (statuses.size() < static_cast<std::size_t>(count)) io.run_one();
    return statuses;
}

TEST(HttpClient, RequestsStartedAtOnceOpenNoMoreThanTheLimit) {
    asio::io_context io;
    CountingPeer peer(io, PeerManner::keep_alive);
    Client client(io.get_executor(), "localhost", peer.port(),
                  ClientOptions{.connections_max = 2, .timeout = 5'000ms});

    // The first requests all arrive while the name is being resolved.
    const auto statuses = get_at_once(io, client, 8);

    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200U), 8);
    EXPECT_EQ(peer.counts().accepted, 2U);
    EXPECT_LE(peer.counts().most_live, 2U);
    EXPECT_EQ(client.open_connections(), 2U);
    peer.stop();
}

TEST(HttpClient, ARequestOnAConnectionThePeerClosedIsRetriedWithinTheLimit) {
    asio::io_context io;
    CountingPeer peer(io, PeerManner::close_after_answer);
    Client client(io.get_executor(), "127.0.0.1", peer.port(),
                  ClientOptions{.connections_max = 2, .timeout = 5'000ms});

    for (int round = 0; round < 3; round++) {
        const auto statuses = get_at_once(io, client, 5);
        EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200U), 5) << "round " << round;
        EXPECT_LE(client.open_connections(), 2U);
        EXPECT_LE(peer.counts().most_live, 2U);
    }
    EXPECT_EQ(peer.counts().answered, 15U);
    peer.stop();
}

// A status of "000" on a reused connection is no answer: the request is retried on a fresh
// connection, which takes the slot of the one that gave it, with the pool at its limit.
TEST(HttpClient, AZeroStatusIsNoAnswerAndItsRetryStaysWithinTheLimit) {
    asio::io_context io;
    CountingPeer peer(io, PeerManner::zero_status_second);
    Client client(io.get_executor(), "127.0.0.1", peer.port(),
                  ClientOptions{.connections_max = 1, .timeout = 5'000ms});

    EXPECT_EQ(get_at_once(io, client, 1), std::vector<unsigned>{200});
    EXPECT_EQ(get_at_once(io, client, 1), std::vector<unsigned>{200});
    EXPECT_EQ(peer.counts().accepted, 2U);
    EXPECT_EQ(client.open_connections(), 1U);
    peer.stop();
}

}  // namespace
}  // namespace tigerfans::http

// The load client over real sockets: its lean connection against a scripted peer (answers in
// pieces, silence, a peer that hangs up, garbage, a keep-alive connection closed while idle),
// and the whole load client (every phase, then the fan's flow) at a tiny size against the real
// server on every level, so that the benchmark cannot rot.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "load/connection.hpp"
#include "load/load.hpp"
#include "support/levels.hpp"
#include "support/process.hpp"
#include "support/run_async.hpp"

namespace tigerfans::loadgen {
namespace {

using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds short_timeout{200};

const std::string good_answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

// One accepted socket per connection the client makes, each handed to `script`.
class ScriptedPeer {
public:
    using Script = std::function<asio::awaitable<void>(tcp::socket&, int connection_index)>;

    ScriptedPeer(asio::io_context& io, Script script)
        : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          script_(std::move(script)) {
        asio::co_spawn(io, accept_loop(), asio::detached);
    }

    tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
    int accepted() const { return accepted_; }

private:
    asio::awaitable<void> accept_loop() {
        while (true) {
            auto [error, socket] = co_await acceptor_.async_accept(use_tuple);
            if (error) co_return;
            const int index = accepted_++;
            auto held = std::make_shared<tcp::socket>(std::move(socket));
            asio::co_spawn(acceptor_.get_executor(), run(held, index), asio::detached);
        }
    }

    asio::awaitable<void> run(std::shared_ptr<tcp::socket> socket, int index) {
        co_await script_(*socket, index);
    }

    tcp::acceptor acceptor_;
    Script script_;
    int accepted_ = 0;
};

// Reads one request head (up to the blank line) from the client.
asio::awaitable<bool> read_request(tcp::socket& socket) {
    std::string seen;
    char chunk[1024];
    while (seen.find("\r\n\r\n") == std::string::npos) {
        auto [error, read] = co_await socket.async_read_some(asio::buffer(chunk), use_tuple);
        if (error) co_return false;
        seen.append(chunk, read);
    }
    co_return true;
}

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    co_await timer.async_wait(use_tuple);
}

asio::awaitable<void> send_text(tcp::socket& socket, std::string text) {
    co_await asio::async_write(socket, asio::buffer(text), use_tuple);
}

struct Seen {
    ExchangeError error = ExchangeError::none;
    unsigned status = 0;
    std::string body;
};

// Sends `count` GETs one after another on one connection to `endpoint`.
std::vector<Seen> send_gets(asio::io_context& io, tcp::endpoint endpoint, int count = 1) {
    TimeoutSweep sweep(io, short_timeout);
    Connection connection(io, endpoint, sweep);
    return testing::run_async(io, [&]() -> asio::awaitable<std::vector<Seen>> {
        std::vector<Seen> outcomes;
        for (int i = 0; i < count; i++) {
            connection.prepare("GET", "/x");
            const Reply reply = co_await connection.exchange();
            outcomes.push_back({reply.error, reply.status, std::string(reply.body)});
        }
        co_return outcomes;
    });
}

TEST(LoadConnection, ReassemblesAnAnswerArrivingInPieces) {
    asio::io_context io;
    ScriptedPeer peer(io, [](tcp::socket& socket, int) -> asio::awaitable<void> {
        co_await read_request(socket);
        for (std::size_t at = 0; at < good_answer.size(); at += 7) {
            std::string piece = good_answer.substr(at, 7);
            co_await send_text(socket, std::move(piece));
            co_await pause(2ms);
        }
        co_await read_request(socket);
    });
    const auto outcomes = send_gets(io, peer.endpoint());
    EXPECT_EQ(outcomes[0].error, ExchangeError::none);
    EXPECT_EQ(outcomes[0].status, 200u);
    EXPECT_EQ(outcomes[0].body, "hello");
}

TEST(LoadConnection, ReportsARefusedConnection) {
    asio::io_context io;
    tcp::endpoint closed;
    {
        tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        closed = acceptor.local_endpoint();
    }
    EXPECT_EQ(send_gets(io, closed)[0].error, ExchangeError::connect_failed);
}

TEST(LoadConnection, TimesOutOnASilentServer) {
    asio::io_context io;
    ScriptedPeer peer(io, [](tcp::socket& socket, int) -> asio::awaitable<void> {
        co_await read_request(socket);
        co_await pause(5 * short_timeout);
    });
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(send_gets(io, peer.endpoint())[0].error, ExchangeError::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3 * short_timeout);
}

TEST(LoadConnection, ReportsAPeerHangingUpMidAnswerAsLost) {
    asio::io_context io;
    ScriptedPeer peer(io, [](tcp::socket& socket, int) -> asio::awaitable<void> {
        co_await read_request(socket);
        std::string part = good_answer.substr(0, 20);
        co_await send_text(socket, std::move(part));
    });
    EXPECT_EQ(send_gets(io, peer.endpoint())[0].error, ExchangeError::connection_lost);
}

TEST(LoadConnection, ReportsGarbageAsABadResponse) {
    asio::io_context io;
    ScriptedPeer peer(io, [](tcp::socket& socket, int) -> asio::awaitable<void> {
        co_await read_request(socket);
        std::string garbage = "SMTP ready\r\n\r\n";
        co_await send_text(socket, std::move(garbage));
        co_await read_request(socket);
    });
    EXPECT_EQ(send_gets(io, peer.endpoint())[0].error, ExchangeError::bad_response);
}

TEST(LoadConnection, SendsAgainOnceWhenAnIdleKeepAliveConnectionWasClosed) {
    asio::io_context io;
    ScriptedPeer peer(io, [](tcp::socket& socket, int index) -> asio::awaitable<void> {
        co_await read_request(socket);
        std::string answer = good_answer;
        co_await send_text(socket, std::move(answer));
        if (index == 0) co_return;  // Hangs up while the client's connection is idle.
        co_await read_request(socket);
    });
    const auto outcomes = send_gets(io, peer.endpoint(), 2);
    EXPECT_EQ(outcomes[0].status, 200u);
    EXPECT_EQ(outcomes[1].error, ExchangeError::none);
    EXPECT_EQ(outcomes[1].status, 200u);
    EXPECT_EQ(peer.accepted(), 2);
}

TEST(LoadConnection, ReconnectsAfterAnAnswerThatClosesTheConnection) {
    asio::io_context io;
    ScriptedPeer peer(io, [](tcp::socket& socket, int) -> asio::awaitable<void> {
        co_await read_request(socket);
        std::string busy = "HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        co_await send_text(socket, std::move(busy));
    });
    const auto outcomes = send_gets(io, peer.endpoint(), 2);
    EXPECT_EQ(outcomes[0].status, 503u);
    EXPECT_EQ(outcomes[1].status, 503u);
    EXPECT_EQ(peer.accepted(), 2);
}

class LoadClientTest : public testing::LevelTest {};

// Every phase and the flow finish without a single error against the real server.
TEST_P(LoadClientTest, RunsEveryPhaseAndTheFlowCleanlyAtATinySize) {
    start_server({{"BENCH_ENDPOINTS", "on"}});
    const Target target{"127.0.0.1", server().port()};
    PhaseOptions phases;
    phases.target = target;
    phases.total = 20;
    phases.concurrency = 4;
    phases.webhook_secret = "test-secret";
    const auto reports = run_phases(
        phases, {Phase::reserve, Phase::commit, Phase::checkout, Phase::webhook, Phase::healthz});
    ASSERT_EQ(reports.size(), 5u);
    for (const PhaseReport& report : reports) {
        EXPECT_EQ(report.ok, 20) << phase_name(report.phase);
        EXPECT_TRUE(report.error_kinds.empty())
            << phase_name(report.phase) << ": " << report.error_kinds.begin()->first;
    }
    FlowOptions flow;
    flow.target = target;
    flow.total = 10;
    flow.concurrency = 3;
    flow.poll_interval = 10ms;
    const FlowReport report = run_flow(flow);
    EXPECT_EQ(report.count(Outcome::paid), 10);
    EXPECT_TRUE(report.errors.empty()) << report.errors.begin()->first;
}

// The seat phases against a server selling the hall: whole map reads, polls answered 304,
// 4-seat holds and their voids, each without an error; the voids leave every seat free.
TEST_P(LoadClientTest, RunsTheSeatPhasesCleanlyAtATinySize) {
    start_server({{"BENCH_ENDPOINTS", "on"}, {"VENUE", "hall"}});
    PhaseOptions phases;
    phases.target = Target{"127.0.0.1", server().port()};
    phases.total = 20;
    phases.concurrency = 4;
    const auto reports =
        run_phases(phases, {Phase::seats, Phase::seats_304, Phase::seat_holds, Phase::seat_voids});
    ASSERT_EQ(reports.size(), 4u);
    for (const PhaseReport& report : reports) {
        EXPECT_EQ(report.ok, 20) << phase_name(report.phase);
        EXPECT_TRUE(report.error_kinds.empty())
            << phase_name(report.phase) << ": " << report.error_kinds.begin()->first;
    }
    EXPECT_TRUE(testing::wait_until(
        [&] {
            const auto map = nlohmann::json::parse(driver().get("/api/seats").body, nullptr, false);
            return map.value("free", 0) == 502;
        },
        std::chrono::seconds(10)));
}

INSTANTIATE_TEST_SUITE_P(Levels, LoadClientTest, ::testing::ValuesIn(testing::all_levels()),
                         testing::level_name);

}  // namespace
}  // namespace tigerfans::loadgen

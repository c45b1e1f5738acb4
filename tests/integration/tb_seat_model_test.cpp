// The seat model against a real TigerBeetle replica (0.17.8, through the official client): a
// venue's seat accounts and their funding are created once and meet `exists` on a second run;
// a chain holds all its seats or none, and the seat a chain lost is refused by the cluster
// itself; posting sells a seat, voiding frees it, and a hold that times out frees it too. The
// states come back from the accounts' balances as the seat map reads them.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "accounting/tigerbeetle/client.hpp"
#include "accounting/tigerbeetle/library.hpp"
#include "accounting/tigerbeetle/requests.hpp"
#include "accounting/tigerbeetle/seat_model.hpp"
#include "support/run_async.hpp"
#include "support/tigerbeetle_server.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/seating/venue.hpp"

#ifndef TIGERFANS_SOURCE_DIR
#define TIGERFANS_SOURCE_DIR "."
#endif

namespace tigerfans::accounting::tb {
namespace {

namespace asio = boost::asio;
namespace status = abi::create_transfer_status;
using seating::SeatId;
using seating::SeatState;

class TbSeatModelTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (testing::tigerbeetle_binary().empty()) {
            testing::note_skipped_without_tigerbeetle();
            GTEST_SKIP() << "skipped: no TigerBeetle server binary (set TIGERBEETLE_BIN to a "
                            "tigerbeetle 0.17.8 executable to run it)";
        }
        std::string error;
        const Library* library = load_library(testing::tb_client_library_path(), error);
        ASSERT_NE(library, nullptr) << error;
        server_ = std::make_unique<testing::TigerBeetleServer>(testing::tigerbeetle_binary());
        client_ = std::make_unique<Client>(io_.get_executor(), *library,
                                           ClientOptions{server_->address(), 0, false});
        ASSERT_TRUE(client_->open().ok());
        auto loaded = seating::load_venue(TIGERFANS_SOURCE_DIR "/web/venues/hall.json");
        ASSERT_TRUE(std::holds_alternative<seating::Venue>(loaded));
        venue_ = std::get<seating::Venue>(std::move(loaded));
        key_ = seat_model::venue_key(venue_);
    }

    void TearDown() override {
        if (client_) client_->close();
        io_.restart();
        io_.poll();
    }

    // Each create call's statuses (empty when the request failed) and each lookup's states,
    // as plain values: a Result of a vector through co_spawn trips GCC 12's
    // -Wmaybe-uninitialized.
    static asio::awaitable<std::vector<std::uint32_t>> send_transfers(
        Client& client, std::vector<abi::Transfer> transfers) {
        std::vector<std::byte> reply;
        const Result<abi::PacketStatus> sent =
            co_await timed_request(client, RequestMetrics{}, abi::Operation::create_transfers,
                                   std::as_bytes(std::span(transfers)), transfers.size(), reply);
        std::vector<abi::CreateResult> results;
        std::vector<std::uint32_t> statuses;
        if (!sent || *sent != abi::PacketStatus::ok ||
            !decode_records(reply, transfers.size(), results)) {
            co_return statuses;
        }
        for (const abi::CreateResult& result : results) statuses.push_back(result.status);
        co_return statuses;
    }

    static asio::awaitable<std::vector<std::uint32_t>> send_accounts(
        Client& client, std::vector<abi::Account> accounts) {
        const auto results = co_await tb::create_accounts(client, RequestMetrics{}, accounts);
        std::vector<std::uint32_t> statuses;
        if (!results) co_return statuses;
        for (const abi::CreateResult& result : *results) statuses.push_back(result.status);
        co_return statuses;
    }

    static asio::awaitable<std::vector<SeatState>> look_up(Client& client, std::vector<u128> ids) {
        const auto accounts = co_await lookup_accounts(client, RequestMetrics{}, ids);
        std::vector<SeatState> states;
        if (!accounts) co_return states;
        for (const abi::Account& account : *accounts) {
            states.push_back(seat_model::state_of(account));
        }
        co_return states;
    }

    std::vector<std::uint32_t> create_transfers(std::vector<abi::Transfer> transfers) {
        const std::size_t count = transfers.size();
        auto statuses =
            testing::run_async(io_, [&] { return send_transfers(*client_, std::move(transfers)); });
        EXPECT_EQ(statuses.size(), count);
        return statuses;
    }

    std::vector<std::uint32_t> create_accounts(std::vector<abi::Account> accounts) {
        const std::size_t count = accounts.size();
        auto statuses =
            testing::run_async(io_, [&] { return send_accounts(*client_, std::move(accounts)); });
        EXPECT_EQ(statuses.size(), count);
        return statuses;
    }

    SeatState state(SeatId seat) {
        const auto states = testing::run_async(io_, [&] {
            return look_up(*client_, std::vector<u128>{seat_model::seat_account_id(key_, seat)});
        });
        EXPECT_EQ(states.size(), 1u);
        return states.empty() ? SeatState::sold : states.front();
    }

    // Creates and funds every seat of the hall.
    void open_venue() {
        for (const std::uint32_t code :
             create_accounts(seat_model::accounts(key_, venue_.seat_count))) {
            ASSERT_TRUE(code == abi::create_account_status::created ||
                        code == abi::create_account_status::exists);
        }
        for (const std::uint32_t code :
             create_transfers(seat_model::fundings(key_, venue_.seat_count))) {
            ASSERT_TRUE(code == status::created || code == status::exists);
        }
    }

    std::optional<seat_model::ChainOutcome> hold(const std::vector<SeatId>& seats,
                                                 std::vector<u128>& hold_ids,
                                                 std::uint32_t timeout_s = 300) {
        hold_ids.clear();
        for (std::size_t i = 0; i < seats.size(); i++) hold_ids.push_back(ids_.next());
        const auto statuses =
            create_transfers(seat_model::hold_chain(key_, seats, hold_ids, timeout_s, 0));
        if (statuses.size() != seats.size()) return std::nullopt;  // The request failed.
        return seat_model::chain_outcome(statuses);
    }

    boost::asio::io_context io_;
    std::unique_ptr<testing::TigerBeetleServer> server_;
    std::unique_ptr<Client> client_;
    seating::Venue venue_;
    std::uint64_t key_ = 0;
    IdGenerator ids_;
};

TEST_F(TbSeatModelTest, SeatsAreCreatedAndFundedOnceAndStartFree) {
    open_venue();
    for (const std::uint32_t code :
         create_transfers(seat_model::fundings(key_, venue_.seat_count))) {
        EXPECT_EQ(code, status::exists);  // A restart funds nothing twice.
    }
    EXPECT_EQ(state(0), SeatState::free);
    EXPECT_EQ(state(venue_.seat_count - 1), SeatState::free);
}

TEST_F(TbSeatModelTest, AChainHoldsAllItsSeatsOrNone) {
    open_venue();
    std::vector<u128> first;
    std::vector<u128> second;
    EXPECT_EQ(hold({10, 11, 12}, first), seat_model::ChainOutcome::held);
    EXPECT_EQ(hold({12, 13}, second), seat_model::ChainOutcome::taken);
    EXPECT_EQ(state(12), SeatState::held);
    EXPECT_EQ(state(13), SeatState::free);  // Rolled back with the seat it lost.
    EXPECT_EQ(hold({13, 14}, second), seat_model::ChainOutcome::held);

    // A retry of the same chain meets `exists`: still held, nothing twice.
    const auto retried = create_transfers(
        seat_model::hold_chain(key_, std::vector<SeatId>{10, 11, 12}, first, 300, 0));
    ASSERT_EQ(retried.size(), 3u);
    EXPECT_EQ(seat_model::chain_outcome(retried), seat_model::ChainOutcome::held)
        << retried[0] << " " << retried[1] << " " << retried[2];

    const auto posted = create_transfers({seat_model::post(key_, 10, first[0])});
    ASSERT_EQ(posted.size(), 1u);
    EXPECT_EQ(posted[0], status::created);
    const auto voided = create_transfers({seat_model::void_hold(key_, 11, first[1])});
    ASSERT_EQ(voided.size(), 1u);
    EXPECT_EQ(voided[0], status::created);
    EXPECT_EQ(state(10), SeatState::sold);
    EXPECT_EQ(state(11), SeatState::free);
    std::vector<u128> third;
    EXPECT_EQ(hold({10}, third), seat_model::ChainOutcome::taken);  // Sold stays sold.
    EXPECT_EQ(hold({11}, third), seat_model::ChainOutcome::held);
}

TEST_F(TbSeatModelTest, AHoldThatTimesOutFreesItsSeat) {
    open_venue();
    std::vector<u128> held;
    ASSERT_EQ(hold({20, 21}, held, 1), seat_model::ChainOutcome::held);
    EXPECT_EQ(state(20), SeatState::held);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (state(20) != SeatState::free && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_EQ(state(20), SeatState::free);
    EXPECT_EQ(state(21), SeatState::free);
    const auto late = create_transfers({seat_model::post(key_, 20, held[0])});
    ASSERT_EQ(late.size(), 1u);
    EXPECT_EQ(late[0], status::pending_transfer_expired);
}

}  // namespace
}  // namespace tigerfans::accounting::tb

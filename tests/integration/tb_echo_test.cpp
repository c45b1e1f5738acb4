// The real libtb_client.so (0.17.8) in echo mode: no server, every request's bytes come back as
// its results. Thousands of concurrent submissions go through the transfer batcher, the packet
// executor, the client adapter, the library's IO thread and back to the loop, and each caller
// must get exactly its own bytes. This checks our ABI declaration, the threading (callback on
// the IO thread, copy and post) and the shutdown path against the library itself.
#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>

#include "accounting/tigerbeetle/batcher.hpp"
#include "accounting/tigerbeetle/client.hpp"
#include "accounting/tigerbeetle/library.hpp"
#include "accounting/tigerbeetle/tigerbeetle_ledger.hpp"
#include "support/run_async.hpp"
#include "support/tigerbeetle_server.hpp"

namespace tigerfans::accounting::tb {
namespace {

using EchoBatcher = AutoBatcher<abi::Transfer, abi::Transfer>;
using EchoExecutor = PacketExecutor<abi::Transfer, abi::Transfer>;

// Fails (never skips) without the library: the set-up always installs it.
const Library* load_or_fail() {
    const std::string path = testing::tb_client_library_path();
    std::string error;
    const Library* library = load_library(path, error);
    EXPECT_NE(library, nullptr) << error << "\nlibtb_client.so is missing at " << path
                                << ": run scripts/fetch_tb_client.sh (or set TB_CLIENT_LIB)";
    return library;
}

// Random bytes in every field: echo mode validates nothing, so any mix-up shows.
abi::Transfer random_transfer(std::mt19937_64& random) {
    abi::Transfer transfer;
    auto* words = reinterpret_cast<std::uint64_t*>(&transfer);
    for (std::size_t i = 0; i < sizeof(transfer) / sizeof(std::uint64_t); i++) words[i] = random();
    return transfer;
}

bool same_bytes(const std::vector<abi::Transfer>& a, const std::vector<abi::Transfer>& b) {
    return a.size() == b.size() &&
           std::memcmp(a.data(), b.data(), a.size() * sizeof(abi::Transfer)) == 0;
}

// One caller per submission: what it sent and what it got back.
struct Callers {
    std::vector<std::vector<abi::Transfer>> sent;
    std::vector<Result<std::vector<abi::Transfer>>> answers;
    std::size_t finished = 0;
};

class TbEcho : public ::testing::Test {
protected:
    void SetUp() override {
        library_ = load_or_fail();
        if (library_ == nullptr) GTEST_FAIL() << "libtb_client.so not loaded";
    }

    // An echo client with a batcher of `events_max` per packet on this test's loop.
    void open(std::uint32_t events_max, u128 cluster_id = 0) {
        client_ = std::make_unique<Client>(io_.get_executor(), *library_,
                                           ClientOptions{"3000", cluster_id, true});
        ASSERT_TRUE(client_->open().ok());
        executor_ =
            std::make_unique<EchoExecutor>(*client_, abi::Operation::create_transfers, events_max,
                                           RequestMetrics::in(registry_, "create_transfers"));
        batcher_ = std::make_unique<EchoBatcher>(io_.get_executor(), executor_->as_execute(),
                                                 events_max, 1'000'000);
    }

    // Spawns every caller at once; each records its answer.
    void spawn_callers(Callers& callers) {
        callers.answers.resize(callers.sent.size());
        for (std::size_t i = 0; i < callers.sent.size(); i++) {
            asio::co_spawn(
                io_,
                [this, &callers, i]() -> asio::awaitable<void> {
                    callers.answers[i] = co_await batcher_->submit(callers.sent[i]);
                    callers.finished++;
                },
                asio::detached);
        }
    }

    void run_until_finished(Callers& callers) {
        io_.restart();
        while (callers.finished < callers.sent.size() && io_.run_one() > 0) {
        }
        ASSERT_EQ(callers.finished, callers.sent.size());
    }

    const metrics::Histogram& packets() {
        return *registry_.find_histogram("tigerfans_tb_batch_events",
                                         "operation=\"create_transfers\"");
    }

    asio::io_context io_;
    metrics::Registry registry_;
    const Library* library_ = nullptr;
    std::unique_ptr<Client> client_;
    std::unique_ptr<EchoExecutor> executor_;
    std::unique_ptr<EchoBatcher> batcher_;
};

Callers make_callers(std::size_t count, std::size_t transfers_max, std::uint64_t seed) {
    std::mt19937_64 random(seed);
    Callers callers;
    for (std::size_t i = 0; i < count; i++) {
        std::vector<abi::Transfer> transfers(1 + random() % transfers_max);
        for (auto& transfer : transfers) transfer = random_transfer(random);
        callers.sent.push_back(std::move(transfers));
    }
    return callers;
}

TEST_F(TbEcho, ThousandsOfConcurrentSubmissionsComeBackByteForByteToTheirCallers) {
    // 20,000 callers of 1-3 transfers each: shared packets, own results, nothing lost.
    open(8189);
    Callers callers = make_callers(20'000, 3, 42);
    std::size_t transfers = 0;
    for (const auto& sent : callers.sent) transfers += sent.size();
    const auto started = std::chrono::steady_clock::now();
    spawn_callers(callers);
    run_until_finished(callers);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    for (std::size_t i = 0; i < callers.sent.size(); i++) {
        ASSERT_TRUE(callers.answers[i].ok()) << "caller " << i;
        ASSERT_TRUE(same_bytes(*callers.answers[i], callers.sent[i])) << "caller " << i;
    }
    EXPECT_GT(packets().count(), 1u);
    EXPECT_LT(packets().count(), callers.sent.size() / 10);  // Batching happened.
    EXPECT_LE(packets().quantile_bound(1.0), 8192.0);
    std::printf(
        "echo: %zu transfers from %zu callers in %zu packets (mean %.0f) in %.3f s: "
        "%.0f transfers/s\n",
        transfers, callers.sent.size(), static_cast<std::size_t>(packets().count()),
        packets().mean(), elapsed.count(), static_cast<double>(transfers) / elapsed.count());
    client_->close();
}

TEST_F(TbEcho, ASubmissionBeyondTheLibrarysPacketLimitIsSplitAndResentInOrder) {
    // Configured above 8189, the library refuses with TOO_MUCH_DATA; the executor learns 8189
    // within the 100,000 transfers (about a dozen packets) and loses none of them.
    open(10'000);
    Callers callers = make_callers(1, 1, 7);
    std::mt19937_64 random(8);
    callers.sent[0].resize(100'000);
    for (auto& transfer : callers.sent[0]) transfer = random_transfer(random);
    spawn_callers(callers);
    run_until_finished(callers);
    ASSERT_TRUE(callers.answers[0].ok());
    EXPECT_TRUE(same_bytes(*callers.answers[0], callers.sent[0]));
    EXPECT_EQ(executor_->limit().events_max(), 8189u);
    EXPECT_LE(packets().quantile_bound(1.0), 8192.0);
    client_->close();
}

TEST_F(TbEcho, ClosingTheClientWithRequestsQueuedFailsThemCleanly) {
    // Deinit from the loop: in-flight callers get 503s via the IO thread, queued ones are
    // refused, nobody hangs, and requests after close are refused at once.
    open(8189);
    Callers callers = make_callers(5'000, 2, 9);
    spawn_callers(callers);
    io_.restart();
    for (int i = 0; i < 200; i++) io_.run_one();  // Some submitted, some answered, some queued.
    client_->close();
    run_until_finished(callers);
    std::size_t failed = 0;
    for (std::size_t i = 0; i < callers.sent.size(); i++) {
        if (callers.answers[i].ok()) {
            EXPECT_TRUE(same_bytes(*callers.answers[i], callers.sent[i]));
            continue;
        }
        failed++;
        const Fault fault = callers.answers[i].fault();
        EXPECT_TRUE(fault == Fault::unavailable || fault == Fault::shutting_down);
    }
    EXPECT_GT(failed, 0u);
    EXPECT_EQ(client_->requests_in_flight(), 0u);
}

TEST_F(TbEcho, TheClusterIdReachesTheLibraryAsSixteenLittleEndianBytes) {
    // A wrong byte order would talk to another cluster; the library reports what it parsed.
    const u128 cluster_id = make_u128(0x0102030405060708, 0x090a0b0c0d0e0f10);
    open(8189, cluster_id);
    EXPECT_EQ(client_->reported_cluster_id(), cluster_id);
    client_->close();
}

TEST(TbLibrary, AMissingLibraryIsAClearErrorAndTheLedgerRefusesToStart) {
    // No crash: load_library says why, start() returns 503-class fault.
    std::string error;
    EXPECT_EQ(load_library("/nonexistent/libtb_client.so", error), nullptr);
    EXPECT_NE(error.find("fetch_tb_client.sh"), std::string::npos) << error;
    asio::io_context io;
    metrics::Registry registry;
    TigerBeetleOptions options;
    options.client_library_path = "/nonexistent/libtb_client.so";
    options.addresses = "3000";
    options.capacities = {10, 10, 10};
    auto ledger = make_tigerbeetle_ledger(io.get_executor(), options, registry);
    const Status started = testing::run_async(io, [&] { return ledger->start(); });
    ASSERT_FALSE(started.ok());
    EXPECT_EQ(started.fault(), Fault::unavailable);
    const auto held = testing::run_async(io, [&] {
        return ledger->hold(HoldRequest{TicketClass::a, 1, 2, 300});
    });
    EXPECT_FALSE(held.ok());
}

}  // namespace
}  // namespace tigerfans::accounting::tb

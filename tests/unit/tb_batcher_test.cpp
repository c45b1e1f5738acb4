// The TigerBeetle transfer batcher (AutoBatcher + PacketExecutor) against a test double of the
// packet submitter: concurrent submissions share packets, packets respect the limit, refused
// packets are split and resent, every caller gets its own results, and a failed packet fails
// every caller in it. No library, no I/O: the double answers after a 1 ms timer.
#include "accounting/tigerbeetle/batcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "support/run_async.hpp"

namespace tigerfans::accounting::tb {
namespace {

namespace status = abi::create_transfer_status;

// Answers create_transfers like a cluster whose per-request limit is `events_limit`: the
// result's status depends on the transfer id (every fifth is exceeds_credits) and its
// timestamp echoes the id, so each caller can check it got its own results back.
class FakeCluster final : public PacketSubmitter {
public:
    explicit FakeCluster(asio::io_context& io) : io_(io) {}

    std::uint32_t events_limit = 8189;
    std::optional<abi::PacketStatus> fail_with;
    std::optional<Fault> refuse_with;
    bool drop_last_result = false;
    std::vector<std::size_t> accepted_sizes;
    std::size_t refusals = 0;
    std::size_t open_chains = 0;  // Accepted packets whose last transfer was linked.
    std::size_t in_flight = 0;
    std::size_t most_in_flight = 0;

    static std::uint32_t status_for(u128 id) {
        return id % 5 == 0 ? status::exceeds_credits : status::created;
    }

    asio::awaitable<Result<abi::PacketStatus>> request(abi::Operation operation,
                                                       std::span<const std::byte> events,
                                                       std::vector<std::byte>& results) override {
        EXPECT_EQ(operation, abi::Operation::create_transfers);
        in_flight++;
        most_in_flight = std::max(most_in_flight, in_flight);
        asio::steady_timer round_trip(io_, std::chrono::milliseconds(1));
        co_await round_trip.async_wait(asio::use_awaitable);  // Others queue meanwhile.
        in_flight--;
        if (refuse_with) co_return *refuse_with;
        const std::size_t count = events.size() / sizeof(abi::Transfer);
        if (count > events_limit) {
            refusals++;
            co_return abi::PacketStatus::too_much_data;
        }
        if (fail_with) co_return *fail_with;
        accepted_sizes.push_back(count);
        abi::Transfer last;
        std::memcpy(&last, events.data() + (count - 1) * sizeof(last), sizeof(last));
        if ((last.flags & abi::transfer_flags::linked) != 0) open_chains++;
        answer(events, count - (drop_last_result ? 1 : 0), results);
        co_return abi::PacketStatus::ok;
    }

private:
    static void answer(std::span<const std::byte> events, std::size_t count,
                       std::vector<std::byte>& results) {
        results.resize(count * sizeof(abi::CreateResult));
        for (std::size_t i = 0; i < count; i++) {
            abi::Transfer transfer;
            std::memcpy(&transfer, events.data() + i * sizeof(transfer), sizeof(transfer));
            const abi::CreateResult result{static_cast<std::uint64_t>(transfer.id),
                                           status_for(transfer.id), 0};
            std::memcpy(results.data() + i * sizeof(result), &result, sizeof(result));
        }
    }

    asio::io_context& io_;
};

abi::Transfer transfer_with_id(u128 id) {
    abi::Transfer transfer{};
    transfer.id = id;
    return transfer;
}

// A batcher over the fake with `events_max` per packet, as the ledger builds one.
struct Rig {
    explicit Rig(std::uint32_t events_max, metrics::Registry* registry = nullptr,
                 std::size_t in_flight_max = 1)
        : cluster(io),
          executor(cluster, abi::Operation::create_transfers, events_max,
                   registry ? RequestMetrics::in(*registry, "create_transfers") : RequestMetrics{}),
          batcher(io.get_executor(), executor.as_execute(), events_max, 1'000'000, {},
                  in_flight_max) {}

    // Submits `count` submissions of `size` transfers at once (ids 1, 2, 3, ... in order) and
    // runs the loop until every caller has its answer.
    // With `chains`, each submission is one linked chain (every transfer but its last linked).
    std::vector<Result<std::vector<abi::CreateResult>>> submit_concurrently(std::size_t count,
                                                                            std::size_t size,
                                                                            bool chains = false) {
        std::vector<Result<std::vector<abi::CreateResult>>> answers(count);
        std::size_t finished = 0;
        u128 next_id = 1;
        for (std::size_t i = 0; i < count; i++) {
            std::vector<abi::Transfer> transfers;
            for (std::size_t j = 0; j < size; j++) {
                transfers.push_back(transfer_with_id(next_id++));
                if (chains && j + 1 < size) transfers.back().flags = abi::transfer_flags::linked;
            }
            asio::co_spawn(
                io,
                [&, i, transfers = std::move(transfers)]() mutable -> asio::awaitable<void> {
                    answers[i] = co_await batcher.submit(std::move(transfers));
                    finished++;
                },
                asio::detached);
        }
        io.restart();
        while (finished < count && io.run_one() > 0) {
        }
        EXPECT_EQ(finished, count);
        return answers;
    }

    asio::io_context io;
    FakeCluster cluster;
    TransferExecutor executor;
    TransferBatcher batcher;
};

// Checks that submission i of `size` got the results of ids i*size+1 .. i*size+size, in order.
void expect_own_results(const std::vector<Result<std::vector<abi::CreateResult>>>& answers,
                        std::size_t size) {
    for (std::size_t i = 0; i < answers.size(); i++) {
        ASSERT_TRUE(answers[i].ok()) << "submission " << i;
        ASSERT_EQ(answers[i]->size(), size);
        for (std::size_t j = 0; j < size; j++) {
            const u128 id = i * size + j + 1;
            EXPECT_EQ((*answers[i])[j].timestamp, static_cast<std::uint64_t>(id));
            EXPECT_EQ((*answers[i])[j].status, FakeCluster::status_for(id));
        }
    }
}

TEST(TbBatcher, ManyConcurrentSubmissionsArePackedIntoOneRequest) {
    // 500 callers submitting in the same turn of the loop share one packet.
    Rig rig(8189);
    const auto answers = rig.submit_concurrently(500, 1);
    expect_own_results(answers, 1);
    EXPECT_EQ(rig.cluster.accepted_sizes, std::vector<std::size_t>{500});
}

TEST(TbBatcher, PacketsNeverExceedTheConfiguredLimitAndSubmissionsStayWhole) {
    // 60 submissions of 3 with a limit of 100: packets of whole submissions, at most 99 events.
    // With up to four batches in flight several go out at once, each with its own reply
    // buffer, and every caller still gets its own results.
    for (std::size_t in_flight_max : {1u, 4u}) {
        Rig rig(100, nullptr, in_flight_max);
        const auto answers = rig.submit_concurrently(60, 3);
        expect_own_results(answers, 3);
        std::size_t total = 0;
        for (std::size_t size : rig.cluster.accepted_sizes) {
            EXPECT_LE(size, 100u);
            EXPECT_EQ(size % 3, 0u);
            total += size;
        }
        EXPECT_EQ(total, 180u);
        EXPECT_EQ(rig.cluster.refusals, 0u);
        EXPECT_LE(rig.cluster.most_in_flight, in_flight_max);
        EXPECT_GE(rig.cluster.most_in_flight, std::min<std::size_t>(in_flight_max, 2));
    }
}

TEST(TbBatcher, BatchesInFlightAtOnceShareWhatTheyLearnOfTheClustersLimit) {
    // Two batches of 1000 refused at once by a 253-event cluster: both split, none is lost.
    Rig rig(1000, nullptr, 2);
    rig.cluster.events_limit = 253;
    const auto answers = rig.submit_concurrently(8, 250);
    expect_own_results(answers, 250);
    for (std::size_t size : rig.cluster.accepted_sizes) EXPECT_LE(size, 253u);
    EXPECT_GT(rig.cluster.refusals, 0u);
    EXPECT_EQ(rig.cluster.most_in_flight, 2u);
}

TEST(TbBatcher, APacketRefusedAsTooMuchDataIsSplitAndResentInOrder) {
    // A --development cluster takes 253 transfers; the configured 8189 must not lose any.
    Rig rig(8189);
    rig.cluster.events_limit = 253;
    const auto answers = rig.submit_concurrently(1, 1000);
    expect_own_results(answers, 1000);
    EXPECT_GT(rig.cluster.refusals, 0u);
    for (std::size_t size : rig.cluster.accepted_sizes) EXPECT_LE(size, 253u);
}

TEST(TbBatcher, APacketSplitSmallerThanTheBatchEndsWhereALinkedChainEnds) {
    // Chains of 8 (a hold of 8 seats) into a cluster that takes 20 events: the packets carry 16,
    // never a chain cut in two, which the cluster would refuse as linked_event_chain_open.
    Rig rig(8189);
    rig.cluster.events_limit = 20;
    const auto answers = rig.submit_concurrently(25, 8, true);
    expect_own_results(answers, 8);
    EXPECT_EQ(rig.cluster.open_chains, 0u);
    for (std::size_t size : rig.cluster.accepted_sizes) EXPECT_EQ(size % 8, 0u);
}

TEST(TbBatcher, AChainLongerThanTheClusterTakesFailsAsAnInternalFault) {
    Rig rig(8189);
    rig.cluster.events_limit = 5;
    const auto answers = rig.submit_concurrently(1, 8, true);
    ASSERT_FALSE(answers[0].ok());
    EXPECT_EQ(answers[0].fault(), Fault::internal);
    EXPECT_EQ(rig.cluster.open_chains, 0u);
}

TEST(TbBatcher, OnceTheClusterLimitIsLearnedFullPacketsGoOutWithoutRefusals) {
    // After the first refusals, 2530 transfers take exactly ten packets of 253.
    Rig rig(8189);
    rig.cluster.events_limit = 253;
    (void)rig.submit_concurrently(1, 1000);
    rig.cluster.accepted_sizes.clear();
    rig.cluster.refusals = 0;
    const auto answers = rig.submit_concurrently(1, 2530);
    expect_own_results(answers, 2530);
    EXPECT_EQ(rig.cluster.refusals, 0u);
    EXPECT_EQ(rig.cluster.accepted_sizes, std::vector<std::size_t>(10, 253));
}

TEST(TbBatcher, ClientLossStatusesFailEveryAffectedCallerAsUnavailable) {
    // Eviction, release too low/high and shutdown: each queued caller gets a 503, none hangs.
    for (abi::PacketStatus failure :
         {abi::PacketStatus::client_evicted, abi::PacketStatus::client_release_too_low,
          abi::PacketStatus::client_release_too_high, abi::PacketStatus::client_shutdown}) {
        Rig rig(8189);
        rig.cluster.fail_with = failure;
        for (const auto& answer : rig.submit_concurrently(40, 2)) {
            ASSERT_FALSE(answer.ok());
            EXPECT_EQ(answer.fault(), Fault::unavailable);
        }
    }
}

TEST(TbBatcher, AMalformedPacketOrAShortReplyIsAnInternalFault) {
    // Bugs on our side of the ABI must surface as 500s, never as made-up results.
    Rig invalid(8189);
    invalid.cluster.fail_with = abi::PacketStatus::invalid_data_size;
    for (const auto& answer : invalid.submit_concurrently(5, 1)) {
        EXPECT_EQ(answer.fault(), Fault::internal);
    }
    Rig short_reply(8189);
    short_reply.cluster.drop_last_result = true;
    for (const auto& answer : short_reply.submit_concurrently(5, 1)) {
        EXPECT_EQ(answer.fault(), Fault::internal);
    }
}

TEST(TbBatcher, ASubmitterFaultReachesEveryCallerUnchanged) {
    // No free packet (overloaded) is a 503 for the callers, not a crash or a hang.
    Rig rig(8189);
    rig.cluster.refuse_with = Fault::overloaded;
    for (const auto& answer : rig.submit_concurrently(10, 1)) {
        EXPECT_EQ(answer.fault(), Fault::overloaded);
    }
}

TEST(TbBatcher, ShutdownRefusesNewSubmissionsButFinishesTheQueuedOnes) {
    // stop() then drain(): what was queued still reaches the cluster and its callers.
    Rig rig(8189);
    std::size_t succeeded = 0;
    for (u128 id = 1; id <= 50; id++) {
        asio::co_spawn(
            rig.io,
            [&, id]() -> asio::awaitable<void> {
                succeeded += (co_await rig.batcher.submit_one(transfer_with_id(id))).ok();
            },
            asio::detached);
    }
    rig.io.poll();  // Enqueue all fifty; their packet is in flight.
    rig.batcher.stop();
    const bool late_refused = testing::run_async(rig.io, [&]() -> asio::awaitable<bool> {
        auto late = co_await rig.batcher.submit_one(transfer_with_id(99));
        co_await rig.batcher.drain();
        co_return !late.ok() && late.fault() == Fault::shutting_down;
    });
    EXPECT_TRUE(late_refused);
    rig.io.run();
    EXPECT_EQ(succeeded, 50u);
    EXPECT_FALSE(rig.batcher.in_flight());
}

TEST(TbBatcher, BatchSizeAndLatencyAreRecordedPerRequest) {
    // One histogram observation per accepted packet, summing to the events sent.
    metrics::Registry registry;
    Rig rig(100, &registry);
    (void)rig.submit_concurrently(30, 10);
    const auto* sizes =
        registry.find_histogram("tigerfans_tb_batch_events", "operation=\"create_transfers\"");
    const auto* latency =
        registry.find_histogram("tigerfans_tb_request_seconds", "operation=\"create_transfers\"");
    ASSERT_NE(sizes, nullptr);
    ASSERT_NE(latency, nullptr);
    EXPECT_EQ(sizes->count(), rig.cluster.accepted_sizes.size());
    EXPECT_EQ(sizes->sum(), 300.0);
    EXPECT_EQ(latency->count(), rig.cluster.accepted_sizes.size());
}

// Feeds BatchLimit a cluster with a hidden limit; returns the refusals until it is stable.
std::size_t refusals_to_learn(std::uint32_t configured, std::uint32_t hidden) {
    BatchLimit limit(configured);
    std::size_t refusals = 0;
    for (int packet = 0; packet < 200; packet++) {
        const std::uint32_t size = limit.events_max();
        if (size <= hidden) {
            limit.on_accepted(size);
        } else {
            refusals++;
            EXPECT_TRUE(limit.on_too_much_data(size));
        }
    }
    EXPECT_EQ(limit.events_max(), std::min(configured, hidden));
    return refusals;
}

TEST(TbBatcher, TheBatchLimitConvergesOnTheClustersLimitWithFewRefusals) {
    // Bisection: about two refusals per halving, then full packets of exactly the limit.
    EXPECT_EQ(refusals_to_learn(8189, 8189), 0u);
    EXPECT_LE(refusals_to_learn(8189, 253), 30u);
    EXPECT_LE(refusals_to_learn(8189, 2031), 30u);
    EXPECT_LE(refusals_to_learn(8189, 1), 30u);
    EXPECT_LE(refusals_to_learn(100, 99), 30u);
    BatchLimit single(8189);
    EXPECT_FALSE(single.on_too_much_data(1));  // Nothing smaller than one event to try.
}

}  // namespace
}  // namespace tigerfans::accounting::tb

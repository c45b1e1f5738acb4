// The TigerBeetle side of the automatic batcher (core/auto_batcher.hpp): the Execute that turns
// one batch of events into as many packets as the cluster accepts, one at a time, and returns
// one outcome per event in order. Several batches may be in flight at once, each its own
// packets in its own request slot of the client. The cluster's real per-request limit can be below
// the configured one (253 transfers with --development), and the client reports it only by failing
// a packet with TOO_MUCH_DATA: BatchLimit learns it by bisection, and the refused events are resent
// in smaller packets.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <span>
#include <vector>

#include "accounting/tigerbeetle/abi.hpp"
#include "accounting/tigerbeetle/client.hpp"
#include "accounting/tigerbeetle/requests.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/auto_batcher.hpp"
#include "tigerfans/core/result.hpp"

namespace tigerfans::accounting::tb {

// How many events the next packet may carry. Starts at the configured limit; after a refusal
// it halves until a packet fits, then bisects between the largest count that fitted and the
// smallest that was refused, so a 253-event cluster costs a few cheap refusals (the client
// refuses before sending), not a permanent halving.
class BatchLimit {
public:
    explicit BatchLimit(std::uint32_t configured_events_max);

    std::uint32_t events_max() const;
    void on_accepted(std::uint32_t events);
    // False when a single event was refused: there is nothing smaller to try.
    bool on_too_much_data(std::uint32_t events);

    std::uint32_t configured_events_max() const { return configured_; }

private:
    std::uint32_t configured_;
    std::uint32_t fits_ = 0;  // Largest count the cluster accepted; 0 before any.
    std::uint32_t refused_;   // Smallest count the cluster refused; configured + 1 before any.
};

static_assert(abi::account_flags::linked == abi::transfer_flags::linked);

template <typename Event, typename Outcome>
class PacketExecutor {
public:
    PacketExecutor(PacketSubmitter& submitter, abi::Operation operation, std::uint32_t events_max,
                   RequestMetrics metrics = {})
        : submitter_(submitter), operation_(operation), limit_(events_max), metrics_(metrics) {}

    // The batcher's Execute. A fault after some packets went through fails the whole batch;
    // callers retry with the same ids and meet `exists` for what did go through. Several may
    // run at once (a batcher with more than one batch in flight): each has its own reply
    // buffer, and they share what BatchLimit learns.
    asio::awaitable<Result<std::vector<Outcome>>> execute(std::span<Event> events) {
        TF_ASSERT(!events.empty());
        std::vector<Outcome> outcomes;
        outcomes.reserve(events.size());
        ReplyBuffer reply(spare_replies_);
        std::size_t sent = 0;
        while (sent < events.size()) {
            const std::size_t count = packet_events(events.subspan(sent));
            if (count == 0) {
                spdlog::error("TigerBeetle: a linked chain is longer than a request may carry ({})",
                              limit_.events_max());
                co_return Fault::internal;
            }
            Result<bool> accepted =
                co_await send(events.subspan(sent, count), reply.bytes, outcomes);
            if (!accepted) co_return accepted.fault();
            if (*accepted) sent += count;
        }
        TF_ASSERT_EQ(outcomes.size(), events.size());
        co_return outcomes;
    }

    // An Execute for AutoBatcher<Event, Outcome>; this executor must outlive the batcher.
    typename AutoBatcher<Event, Outcome>::Execute as_execute() {
        return [this](std::span<Event> events) { return execute(events); };
    }

    const BatchLimit& limit() const { return limit_; }

private:
    // A reply buffer borrowed from the pool for one execute() and given back at its end, so
    // buffers keep their capacity however many batches ran at once.
    struct ReplyBuffer {
        explicit ReplyBuffer(std::vector<std::vector<std::byte>>& pool) : pool_(pool) {
            if (pool_.empty()) return;
            bytes = std::move(pool_.back());
            pool_.pop_back();
        }
        ~ReplyBuffer() { pool_.push_back(std::move(bytes)); }
        ReplyBuffer(const ReplyBuffer&) = delete;
        ReplyBuffer& operator=(const ReplyBuffer&) = delete;

        std::vector<std::byte> bytes;

    private:
        std::vector<std::vector<std::byte>>& pool_;
    };

    // How many of `rest` the next packet carries: as many as the limit allows, ending where a
    // linked chain ends (a packet that cut one would fail it with linked_event_chain_open); 0
    // when the first chain alone is over the limit.
    std::size_t packet_events(std::span<const Event> rest) const {
        std::size_t count = std::min<std::size_t>(rest.size(), limit_.events_max());
        if constexpr (requires { rest.front().flags; }) {
            if (count < rest.size()) {
                while (count > 0 && (rest[count - 1].flags & abi::transfer_flags::linked) != 0) {
                    count--;
                }
            }
        }
        return count;
    }

    // One packet: true when its outcomes were appended, false when it must be resent smaller.
    asio::awaitable<Result<bool>> send(std::span<const Event> chunk,
                                       std::vector<std::byte>& results,
                                       std::vector<Outcome>& outcomes) {
        const auto count = static_cast<std::uint32_t>(chunk.size());
        Result<abi::PacketStatus> status = co_await timed_request(
            submitter_, metrics_, operation_, std::as_bytes(chunk), count, results);
        if (!status) co_return status.fault();
        if (*status == abi::PacketStatus::too_much_data) {
            if (limit_.on_too_much_data(count)) co_return false;
            spdlog::error("TigerBeetle refused a single event as too much data");
            co_return Fault::internal;
        }
        if (*status != abi::PacketStatus::ok) co_return fault_of(*status);
        limit_.on_accepted(count);
        if (!decode_records(results, count, outcomes)) {
            spdlog::error("TigerBeetle replied {} bytes for {} events", results.size(), count);
            co_return Fault::internal;
        }
        co_return true;
    }

    PacketSubmitter& submitter_;
    abi::Operation operation_;
    BatchLimit limit_;
    RequestMetrics metrics_;
    // Reply buffers not in use: they trade places with the client's slots, so both keep their
    // capacity.
    std::vector<std::vector<std::byte>> spare_replies_;
};

using TransferBatcher = AutoBatcher<abi::Transfer, abi::CreateResult>;
using TransferExecutor = PacketExecutor<abi::Transfer, abi::CreateResult>;

}  // namespace tigerfans::accounting::tb

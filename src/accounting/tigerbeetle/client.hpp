// The small adapter that owns one libtb_client instance. Callers on the loop co_await one
// request (an operation and its events) and get the reply's bytes back on the loop. The
// library's completion callback runs on the client's IO thread: it only copies the reply into
// the request's pooled slot and posts the completion to the loop; it never submits or deinits
// (0.17.8 aborts on both). Packets and buffers come from a fixed pool. Evictions and release
// mismatches fail the affected requests; the next request re-creates the client.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "accounting/tigerbeetle/abi.hpp"
#include "accounting/tigerbeetle/library.hpp"
#include "tigerfans/core/result.hpp"
#include "tigerfans/core/u128.hpp"

namespace tigerfans::accounting::tb {

namespace asio = boost::asio;

// What the batcher and the lookups need from a client; tests put a double behind it.
class PacketSubmitter {
public:
    virtual ~PacketSubmitter() = default;

    // Sends `events` as one request. On PacketStatus::ok, `results` holds the reply's bytes.
    // A fault means the request was not sent (no client, no free packet).
    virtual asio::awaitable<Result<abi::PacketStatus>> request(abi::Operation operation,
                                                               std::span<const std::byte> events,
                                                               std::vector<std::byte>& results) = 0;
};

struct ClientOptions {
    std::string addresses;  // "3000", "127.0.0.1:3000", comma-separated per replica.
    u128 cluster_id = 0;
    bool echo = false;  // tb_client_init_echo: replies are the request's own bytes.
};

// Whether a failed packet means the client itself is gone and must be re-created.
bool ends_client(abi::PacketStatus status);

class Client final : public PacketSubmitter {
public:
    using Clock = std::chrono::steady_clock;

    Client(asio::any_io_executor loop, const Library& library, ClientOptions options);
    ~Client() override;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Creates the library client. Logs and returns `unavailable` when init fails.
    Status open();
    // Deinits from the loop thread: every queued or in-flight request completes with
    // client_shutdown. Call after the batchers drained; no request may follow.
    void close();
    bool is_open() const { return handle_ != nullptr; }

    asio::awaitable<Result<abi::PacketStatus>> request(abi::Operation operation,
                                                       std::span<const std::byte> events,
                                                       std::vector<std::byte>& results) override;

    // The cluster id the library holds (16 little-endian bytes), read back for tests.
    std::optional<u128> reported_cluster_id() const;
    std::size_t requests_in_flight() const;
    // When the oldest request still in flight was submitted; nullopt when none is.
    std::optional<Clock::time_point> oldest_request_start() const;
    // When a request last completed with PacketStatus::ok.
    std::optional<Clock::time_point> last_success() const { return last_success_; }

    struct Slot;
    struct Shared;

private:
    Result<Slot*> acquire_slot();
    void release_slot(Slot* slot);
    Status ensure_open();
    void submit(Slot* slot);
    void note_outcome(const Slot& slot);
    void drop_evicted_handle(abi::PacketStatus status);

    const Library& library_;
    ClientOptions options_;
    std::shared_ptr<Shared> shared_;
    // At a fixed address for the client's life; null when closed or evicted.
    std::unique_ptr<abi::ClientHandle> handle_;
    std::uint64_t handle_generation_ = 0;  // Tells an old client's late failures apart.
    std::optional<Clock::time_point> reopen_not_before_;
    std::optional<Clock::time_point> last_success_;
    std::uint32_t reopen_delay_ms_;
    std::size_t reopen_count_ = 0;
    bool closed_ = false;
};

}  // namespace tigerfans::accounting::tb

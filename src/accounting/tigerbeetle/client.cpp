// The libtb_client adapter: pooled request slots, the IO-thread callback that copies and posts,
// and the client's life cycle (open, eviction and re-creation with back-off, close).
#include "accounting/tigerbeetle/client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/async.hpp"
#include "tigerfans/core/limits.hpp"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace tigerfans::accounting::tb {

// One request's packet and buffers. Between submit and the posted completion only the IO thread
// touches it; the post hands it back to the loop.
struct Client::Slot {
    abi::Packet packet{};
    std::vector<std::byte> events;   // The packet's data: stays put until the callback.
    std::vector<std::byte> results;  // Filled on the IO thread, swapped out on the loop.
    abi::PacketStatus status = abi::PacketStatus::ok;
    // Optional, emplaced and reset: Boost 1.81's any_completion_handler move-assignment
    // recurses without end (it copies from an lvalue), so it is never assigned.
    std::optional<Completion<abi::PacketStatus>> done;
    Clock::time_point started;
    std::uint64_t generation = 0;
    bool busy = false;
    // Set by the IO thread when its callback is over: a busy slot without it is still owed a
    // callback by some IO thread.
    std::atomic<bool> called_back{false};
};

// What the IO thread's callback reaches through the completion context. Shared with the posted
// completions so that they stay safe even if the Client is destroyed before they run.
struct Client::Shared : std::enable_shared_from_this<Client::Shared> {
    explicit Shared(asio::any_io_executor executor) : loop(std::move(executor)) {}

    asio::any_io_executor loop;
    std::deque<Slot> slots;  // A deque: slots never move.
    std::vector<Slot*> free_slots;
    bool destroyed = false;  // Loop thread only.

    // Loop thread: resumes the request's waiter, or drops it when the Client is gone.
    void finish(Slot* slot) {
        TF_ASSERT(slot->busy && slot->done);
        Completion<abi::PacketStatus> done(std::move(*slot->done));
        slot->done.reset();
        if (destroyed) return;  // Destroys the waiting coroutine without resuming it.
        std::move(done)(slot->status);
    }
};

namespace {

// The library hands a packet to its IO thread through its own queue, which ThreadSanitizer cannot
// see (the library is not instrumented). These state the ordering the library guarantees:
// whatever the loop wrote before submitting a packet happens before that packet's callback.
// Empty without ThreadSanitizer.
#if defined(__SANITIZE_THREAD__)
void handed_to_library(abi::Packet* packet) { __tsan_release(packet); }
void returned_by_library(abi::Packet* packet) { __tsan_acquire(packet); }
#else
void handed_to_library(abi::Packet* /*packet*/) {}
void returned_by_library(abi::Packet* /*packet*/) {}
#endif

// The library's completion callback, on the client's IO thread. Copies the reply (valid only
// during this call) and posts; never submits or deinits here.
void on_completion(std::uintptr_t context, abi::Packet* packet, std::uint64_t /*timestamp*/,
                   const std::uint8_t* result, std::uint32_t result_size) {
    returned_by_library(packet);
    auto* shared = reinterpret_cast<Client::Shared*>(context);
    auto* slot = static_cast<Client::Slot*>(packet->user_data);
    TF_ASSERT(shared != nullptr && slot != nullptr);
    slot->status = static_cast<abi::PacketStatus>(packet->status);
    slot->results.resize(result_size);
    if (result_size > 0) std::memcpy(slot->results.data(), result, result_size);
    // Own a reference before marking the callback done: from then on a Client destroyed on the
    // loop may release its own, and this thread still posts through the shared state.
    std::shared_ptr<Client::Shared> owner = shared->shared_from_this();
    slot->called_back.store(true, std::memory_order_release);
    asio::post(owner->loop, [owner, slot] { owner->finish(slot); });
}

std::string_view init_status_name(abi::InitStatus status) {
    switch (status) {
        case abi::InitStatus::success: return "success";
        case abi::InitStatus::unexpected: return "unexpected";
        case abi::InitStatus::out_of_memory: return "out of memory";
        case abi::InitStatus::address_invalid: return "address invalid";
        case abi::InitStatus::address_limit_exceeded: return "more than 6 addresses";
        case abi::InitStatus::system_resources: return "system resources";
        case abi::InitStatus::network_subsystem: return "network subsystem";
    }
    return "unknown";
}

std::string_view packet_status_name(abi::PacketStatus status) {
    switch (status) {
        case abi::PacketStatus::ok: return "ok";
        case abi::PacketStatus::too_much_data: return "too much data";
        case abi::PacketStatus::client_evicted: return "client evicted";
        case abi::PacketStatus::client_release_too_low: return "client release too low";
        case abi::PacketStatus::client_release_too_high: return "client release too high";
        case abi::PacketStatus::client_shutdown: return "client shutdown";
        case abi::PacketStatus::invalid_operation: return "invalid operation";
        case abi::PacketStatus::invalid_data_size: return "invalid data size";
    }
    return "unknown";
}

void encode_cluster_id(u128 cluster_id, std::uint8_t (&bytes)[16]) {
    for (std::size_t i = 0; i < sizeof(bytes); i++) {
        bytes[i] = static_cast<std::uint8_t>(cluster_id >> (8 * i));
    }
}

}  // namespace

bool ends_client(abi::PacketStatus status) {
    return status == abi::PacketStatus::client_evicted ||
           status == abi::PacketStatus::client_release_too_low ||
           status == abi::PacketStatus::client_release_too_high;
}

Client::Client(asio::any_io_executor loop, const Library& library, ClientOptions options)
    : library_(library),
      options_(std::move(options)),
      shared_(std::make_shared<Shared>(std::move(loop))),
      reopen_delay_ms_(limits::tb_client_reopen_delay_min_ms) {
    for (std::size_t i = 0; i < limits::tb_packets_in_flight_max; i++) {
        shared_->free_slots.push_back(&shared_->slots.emplace_back());
    }
}

Client::~Client() {
    // Deinit joins the IO thread, so no callback runs after it; the completions it posted
    // find `destroyed` and drop their waiters instead of resuming into a dead Client.
    if (handle_) library_.deinit(handle_.get());
    shared_->destroyed = true;
    // An evicted client's IO thread is never joined (deinit returns INVALID); if it still owes
    // callbacks, their context must outlive us: keep it for the life of the process.
    for (const Slot& slot : shared_->slots) {
        if (slot.busy && !slot.called_back.load(std::memory_order_acquire)) {
            spdlog::warn(
                "TigerBeetle client destroyed with callbacks still owed; keeping its "
                "state alive");
            new std::shared_ptr<Shared>(shared_);  // Deliberately leaked.
            return;
        }
    }
}

Status Client::open() {
    TF_ASSERT(!handle_ && !closed_);
    auto handle = std::make_unique<abi::ClientHandle>();  // Value-initialised: zeroed.
    std::uint8_t cluster_id[16];
    encode_cluster_id(options_.cluster_id, cluster_id);
    const abi::InitFn init = options_.echo ? library_.init_echo : library_.init;
    TF_ASSERT(options_.addresses.size() <= std::numeric_limits<std::uint32_t>::max());
    const abi::InitStatus status =
        init(handle.get(), cluster_id, options_.addresses.data(),
             static_cast<std::uint32_t>(options_.addresses.size()),
             reinterpret_cast<std::uintptr_t>(shared_.get()), &on_completion);
    if (status != abi::InitStatus::success) {
        spdlog::error("TigerBeetle client init for addresses '{}' failed: {}", options_.addresses,
                      init_status_name(status));
        return Fault::unavailable;
    }
    handle_ = std::move(handle);
    handle_generation_++;
    return done();
}

void Client::close() {
    closed_ = true;
    if (!handle_) return;
    // Blocks the loop until the IO thread has joined (milliseconds, at shutdown only).
    library_.deinit(handle_.get());
    handle_.reset();
}

// Opens lazily after an eviction or a failed open, at most once per back-off delay.
Status Client::ensure_open() {
    if (handle_) return done();
    const Clock::time_point now = Clock::now();
    if (reopen_not_before_ && now < *reopen_not_before_) return Fault::unavailable;
    reopen_not_before_ = now + std::chrono::milliseconds(reopen_delay_ms_);
    reopen_delay_ms_ = std::min(reopen_delay_ms_ * 2, limits::tb_client_reopen_delay_max_ms);
    if (handle_generation_ > 0) {
        reopen_count_++;
        spdlog::warn("re-creating the TigerBeetle client (re-creation {})", reopen_count_);
    }
    return open();
}

Result<Client::Slot*> Client::acquire_slot() {
    if (shared_->free_slots.empty()) return Fault::overloaded;
    Slot* slot = shared_->free_slots.back();
    shared_->free_slots.pop_back();
    TF_ASSERT(!slot->busy);
    slot->busy = true;
    return slot;
}

void Client::release_slot(Slot* slot) {
    TF_ASSERT(slot->busy && !slot->done);
    slot->busy = false;
    shared_->free_slots.push_back(slot);
}

void Client::submit(Slot* slot) {
    TF_ASSERT(handle_);
    slot->generation = handle_generation_;
    slot->started = Clock::now();
    slot->called_back.store(false, std::memory_order_relaxed);
    handed_to_library(&slot->packet);
    if (library_.submit(handle_.get(), &slot->packet) == abi::ClientStatus::ok) return;
    // Not queued, so no callback will come: the handle was evicted under us.
    slot->status = abi::PacketStatus::client_evicted;
    slot->called_back.store(true, std::memory_order_relaxed);
    asio::post(shared_->loop, [owner = shared_, slot] { owner->finish(slot); });
}

asio::awaitable<Result<abi::PacketStatus>> Client::request(abi::Operation operation,
                                                           std::span<const std::byte> events,
                                                           std::vector<std::byte>& results) {
    TF_ASSERT(!events.empty());
    TF_ASSERT(events.size() <= std::numeric_limits<std::uint32_t>::max());
    if (closed_) co_return Fault::shutting_down;
    if (Status opened = ensure_open(); !opened) co_return opened.fault();
    Result<Slot*> acquired = acquire_slot();
    if (!acquired) co_return acquired.fault();
    Slot* slot = *acquired;
    slot->events.assign(events.begin(), events.end());
    slot->packet = abi::Packet{};
    slot->packet.user_data = slot;
    slot->packet.data = slot->events.data();
    slot->packet.data_size = static_cast<std::uint32_t>(slot->events.size());
    slot->packet.operation = static_cast<std::uint8_t>(operation);
    const abi::PacketStatus status =
        co_await await_completion<abi::PacketStatus>([&](Completion<abi::PacketStatus> done) {
            slot->done.emplace(std::move(done));
            submit(slot);
        });
    results.swap(slot->results);  // The buffers trade places; both keep their capacity.
    note_outcome(*slot);
    release_slot(slot);
    co_return status;
}

void Client::note_outcome(const Slot& slot) {
    if (slot.status == abi::PacketStatus::ok) {
        reopen_delay_ms_ = limits::tb_client_reopen_delay_min_ms;
        last_success_ = Clock::now();
        return;
    }
    // Only the first failure from the current client drops it; the rest are its echoes.
    if (ends_client(slot.status) && handle_ && slot.generation == handle_generation_) {
        drop_evicted_handle(slot.status);
    }
}

void Client::drop_evicted_handle(abi::PacketStatus status) {
    // The library has already cleared the handle and stops its own IO thread; deinit would
    // only return INVALID. The handle is no longer touched after the eviction callback.
    spdlog::warn("TigerBeetle client lost ({}); requests fail with 503 until it is re-created",
                 packet_status_name(status));
    handle_.reset();
}

std::optional<u128> Client::reported_cluster_id() const {
    if (!handle_) return std::nullopt;
    abi::InitParameters parameters{};
    if (library_.init_parameters(handle_.get(), &parameters) != abi::ClientStatus::ok) {
        return std::nullopt;
    }
    return parameters.cluster_id;
}

std::size_t Client::requests_in_flight() const {
    return limits::tb_packets_in_flight_max - shared_->free_slots.size();
}

std::optional<Client::Clock::time_point> Client::oldest_request_start() const {
    std::optional<Clock::time_point> oldest;
    for (const Slot& slot : shared_->slots) {
        if (slot.busy && (!oldest || slot.started < *oldest)) oldest = slot.started;
    }
    return oldest;
}

}  // namespace tigerfans::accounting::tb

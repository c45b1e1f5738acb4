// One ledger read at a time behind the seat map, shared by every reader that needs it.
#include "tigerfans/seating/seat_map.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <utility>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/http/json_writer.hpp"

namespace tigerfans::seating {

namespace {
constexpr std::size_t etag_hex_digits = 24;  // 96 bits of the digest.
constexpr std::int64_t us_per_ms = 1000;
}  // namespace

SeatMapSnapshot make_snapshot(const Venue& venue, SeatStates states, std::int64_t read_at_us) {
    TF_ASSERT_EQ(states.seat_count(), venue.seat_count);
    SeatMapSnapshot snapshot{std::move(states), {}, {}, read_at_us};
    const std::string encoded = base64_encode(snapshot.states.bytes());
    // The venue's digest is part of the tag: the same states of another layout are another map.
    snapshot.etag = "\"" + sha256_hex(venue.digest + encoded).substr(0, etag_hex_digits) + "\"";
    http::JsonObjectWriter body(encoded.size() + http::JsonObjectWriter::json_object_reserve_bytes);
    body.string("etag", snapshot.etag)
        .integer("free", snapshot.states.count(SeatState::free))
        .integer("held", snapshot.states.count(SeatState::held))
        .integer("seats", snapshot.states.seat_count())
        .integer("sold", snapshot.states.count(SeatState::sold))
        .string("states", encoded)
        .string("venue", venue.id);
    snapshot.body = std::move(body).finish();
    return snapshot;
}

SeatMap::SeatMap(asio::any_io_executor executor, const Venue& venue, Read read, Now now_us,
                 Settings settings)
    : executor_(std::move(executor)),
      venue_(venue),
      read_(std::move(read)),
      now_us_(std::move(now_us)),
      settings_(settings),
      alive_(std::make_shared<bool>(true)) {
    TF_ASSERT(read_ && now_us_);
    TF_ASSERT_LE(settings_.refresh_ms, settings_.stale_max_ms);
}

SeatMap::~SeatMap() {
    *alive_ = false;
    TF_ASSERT(waiters_.empty());
}

bool SeatMap::fresh(std::int64_t now_us, std::uint32_t age_max_ms) const {
    return snapshot_ && now_us - snapshot_->read_at_us < age_max_ms * us_per_ms;
}

asio::awaitable<Result<SnapshotPtr>> SeatMap::current() {
    TF_ASSERT(!stopped_);
    const std::int64_t now_us = now_us_();
    if (fresh(now_us, settings_.stale_max_ms)) {
        if (!fresh(now_us, settings_.refresh_ms)) start_read();
        co_return snapshot_;
    }
    start_read();
    Result<SnapshotPtr> result = co_await await_completion<Result<SnapshotPtr>>(
        [this](Completion<Result<SnapshotPtr>> handler) {
            waiters_.push_back(std::move(handler));
        });
    co_return result;
}

void SeatMap::start_read() {
    if (reading_) return;
    reading_ = true;
    asio::co_spawn(executor_, read_once(), asio::detached);
}

asio::awaitable<void> SeatMap::read_once() {
    const std::shared_ptr<bool> alive = alive_;
    const std::int64_t started_us = now_us_();
    Result<SeatStates> states = Fault::internal;
    try {
        states = co_await read_();
    } catch (...) {
        states = Fault::internal;  // A read that throws is a failed read, not a lost waiter.
    }
    if (!*alive) co_return;
    reads_++;
    publish(std::move(states), started_us);
}

// A failed read keeps the last snapshot for the readers it still serves; those who waited
// because it was too old get the fault.
void SeatMap::publish(Result<SeatStates> states, std::int64_t read_at_us) {
    TF_ASSERT(reading_);
    reading_ = false;
    Result<SnapshotPtr> answer = Fault::unavailable;
    if (states.ok()) {
        snapshot_ = std::make_shared<const SeatMapSnapshot>(
            make_snapshot(venue_, std::move(states).value(), read_at_us));
        answer = snapshot_;
    } else {
        answer = states.fault();
    }
    for (auto& waiter : std::exchange(waiters_, {})) {
        complete_later(executor_, std::move(waiter), answer);
    }
    for (auto& waiter : std::exchange(stop_waiters_, {})) {
        complete_later(executor_, std::move(waiter), true);
    }
}

asio::awaitable<void> SeatMap::stop() {
    stopped_ = true;
    if (!reading_) co_return;
    co_await await_completion<bool>(
        [this](Completion<bool> handler) { stop_waiters_.push_back(std::move(handler)); });
}

}  // namespace tigerfans::seating

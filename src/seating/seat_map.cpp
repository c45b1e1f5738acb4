// One ledger read at a time behind the seat map, shared by every reader that needs it.
#include "tigerfans/seating/seat_map.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <utility>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/http/etag.hpp"
#include "tigerfans/http/gzip.hpp"
#include "tigerfans/http/json_writer.hpp"

namespace tigerfans::seating {

namespace {
constexpr std::int64_t us_per_ms = 1000;
}  // namespace

SeatMapSnapshot make_snapshot(const Venue& venue, SeatStates states, std::int64_t read_at_us) {
    TF_ASSERT_EQ(states.seat_count(), venue.seat_count);
    SeatMapSnapshot snapshot{std::move(states), {}, {}, {}, read_at_us};
    const std::string encoded = base64_encode(snapshot.states.bytes());
    // The venue's digest is part of the tag: the same states of another layout are another map.
    snapshot.etag = http::etag_of(venue.digest + encoded);
    snapshot.counts = snapshot.states.counts();
    const SeatCounts& counts = snapshot.counts;
    http::JsonObjectWriter body(encoded.size() + http::JsonObjectWriter::json_object_reserve_bytes);
    body.string("etag", snapshot.etag)
        .integer("free", counts.free)
        .integer("held", counts.held)
        .integer("seats", snapshot.states.seat_count())
        .integer("sold", counts.sold)
        .string("states", encoded)
        .string("venue", venue.id);
    snapshot.body = std::move(body).finish();
    snapshot.body_gzip = http::gzip(snapshot.body);
    return snapshot;
}

SeatMap::SeatMap(asio::any_io_executor executor, const Venue& venue, Read read, Now now_us,
                 Settings settings)
    : executor_(std::move(executor)),
      venue_(venue),
      read_(std::move(read)),
      now_us_(std::move(now_us)),
      settings_(settings),
      warm_timer_(executor_),
      alive_(std::make_shared<bool>(true)) {
    TF_ASSERT(read_ && now_us_);
    TF_ASSERT_LE(settings_.refresh_ms, settings_.stale_max_ms);
    TF_ASSERT(settings_.ledger_share_percent > 0 && settings_.ledger_share_percent <= 100);
}

SeatMap::~SeatMap() {
    *alive_ = false;
    TF_ASSERT(waiters_.empty());  // Every reader is answered before the map goes (stop()).
}

// A reader waits only for a map older than the stale limit or, after a good read, older than
// the stale limit past the moment the pacing let the next read start, when that is later (but
// never older than two paced intervals). Otherwise a read spaced out past the stale limit (a
// read of over 200 ms at a quarter of the ledger's time) would find the map already too old,
// and every reader that came while it ran would wait for it.
bool SeatMap::servable(std::int64_t now_us) const {
    const std::int64_t stale_us = std::int64_t{settings_.stale_max_ms} * us_per_ms;
    const std::int64_t paced_us = paced_interval_us_;
    const std::int64_t age_max_us = std::max(stale_us, std::min(2 * paced_us, paced_us + stale_us));
    return snapshot_ && now_us - snapshot_->read_at_us < age_max_us;
}

asio::awaitable<Result<SnapshotPtr>> SeatMap::current() {
    if (stopped_) co_return Fault::shutting_down;
    const std::int64_t now_us = now_us_();
    last_asked_us_ = now_us;
    // One read started an interval at most, whether the last one succeeded or failed.
    const bool may_read = !reading_ && now_us >= next_read_us_;
    if (servable(now_us)) {
        if (may_read) start_read(now_us);
        co_return snapshot_;
    }
    if (!reading_ && !may_read) {
        // The pacing holds the next read back. After a good read that cannot be: the limit
        // servable() allows is at least its interval. So there is no map to serve, or the last
        // read failed within the interval: that failure answers for it.
        TF_ASSERT(!snapshot_ || last_fault_);
        co_return last_fault_.value_or(Fault::unavailable);
    }
    // The waiter goes on the list before the read starts: a read that ends without suspending
    // (a client out of slots answers at once) must still find it there.
    Result<SnapshotPtr> result = co_await await_completion<Result<SnapshotPtr>>(
        [this, now_us](Completion<Result<SnapshotPtr>> handler) {
            waiters_.push_back(std::move(handler));
            start_read(now_us);
        });
    co_return result;
}

void SeatMap::prime() {
    if (!stopped_) start_read(now_us_());
}

void SeatMap::start_read(std::int64_t now_us) {
    if (reading_) return;
    reading_ = true;
    last_read_us_ = now_us;
    next_read_us_ = now_us + std::int64_t{settings_.refresh_ms} * us_per_ms;
    asio::co_spawn(executor_, read_once(), asio::detached);
}

asio::awaitable<void> SeatMap::read_once() {
    const std::shared_ptr<bool> alive = alive_;
    const std::int64_t started_us = last_read_us_;
    Read read = read_;  // The frame's own copy: the map may be gone before the read returns.
    Result<SeatStates> states = Fault::internal;
    try {
        states = co_await read();
    } catch (...) {
        states = Fault::internal;  // A read that throws is a failed read, not a lost waiter.
    }
    if (!*alive) co_return;
    reads_++;
    // A long read (a big venue) spaces the next one out, so that reading keeps the ledger busy
    // at most ledger_share_percent of the time.
    const std::int64_t took_us = std::max<std::int64_t>(0, now_us_() - started_us);
    const std::int64_t paced_us = took_us * 100 / settings_.ledger_share_percent;
    next_read_us_ = std::max(next_read_us_, started_us + paced_us);
    // Only a good read lets readers keep an older map: while the ledger fails, the stale limit
    // holds, as it does for a read that failed after a long wait.
    paced_interval_us_ = states.ok() ? paced_us : 0;
    publish(std::move(states), started_us);
    keep_warm();
}

// Readers asked lately: a read follows the last one unasked once the pacing allows and the
// map is half its stale limit old, so the next reader still finds it young enough to be served
// at once. The timer's end only asks again (a wait whose end was already queued cannot be
// called off, and a reader's read may have come in between): it never reads sooner.
void SeatMap::keep_warm() {
    if (stopped_ || reading_ || settings_.keep_warm_ms == 0 || !last_asked_us_) return;
    const std::int64_t now_us = now_us_();
    const std::int64_t since_asked_us = now_us - *last_asked_us_;
    // A clock stepped back (the server's never is) counts as long ago: the next reader starts
    // the reads again.
    if (since_asked_us < 0 || since_asked_us >= std::int64_t{settings_.keep_warm_ms} * us_per_ms) {
        return;
    }
    const std::int64_t due_us = std::max(
        next_read_us_, last_read_us_ + std::int64_t{settings_.stale_max_ms} * us_per_ms / 2);
    if (now_us >= due_us) {
        start_read(now_us);
        return;
    }
    warm_timer_.expires_after(std::chrono::microseconds(due_us - now_us));
    warm_timer_.async_wait([this, alive = alive_](boost::system::error_code error) {
        if (!error && *alive) keep_warm();
    });
}

// A failed read keeps the last snapshot for the readers it still serves; those who waited
// because it was too old get the fault.
void SeatMap::publish(Result<SeatStates> states, std::int64_t read_at_us) {
    TF_ASSERT(reading_);
    reading_ = false;
    Result<SnapshotPtr> answer = Fault::unavailable;
    if (!states.ok()) {
        last_fault_ = states.fault();
        answer = states.fault();
    } else if (snapshot_ && snapshot_->states == states.value()) {
        last_fault_.reset();
        // Unchanged: the same body and tag, only younger.
        auto younger = std::make_shared<SeatMapSnapshot>(*snapshot_);
        younger->read_at_us = read_at_us;
        snapshot_ = std::move(younger);
        answer = snapshot_;
    } else {
        last_fault_.reset();
        snapshot_ = std::make_shared<const SeatMapSnapshot>(
            make_snapshot(venue_, std::move(states).value(), read_at_us));
        answer = snapshot_;
    }
    for (auto& waiter : std::exchange(waiters_, {})) {
        complete_later(executor_, std::move(waiter), answer);
    }
    for (auto& waiter : std::exchange(stop_waiters_, {})) {
        complete_later(executor_, std::move(waiter), true);
    }
}

asio::awaitable<void> SeatMap::stop(std::chrono::milliseconds timeout) {
    stopped_ = true;
    warm_timer_.cancel();
    if (!reading_) co_return;
    // A read the ledger never answers (a cluster that is down: lookups do not time out) must
    // not hold the shutdown: past the timeout its waiters are told and the stop ends.
    auto timer = std::make_shared<asio::steady_timer>(executor_, timeout);
    timer->async_wait([this, timer, alive = alive_](boost::system::error_code error) {
        if (error || !*alive) return;  // Cancelled: the read ended in time.
        for (auto& waiter : std::exchange(waiters_, {})) {
            complete_later<Result<SnapshotPtr>>(executor_, std::move(waiter), Fault::shutting_down);
        }
        for (auto& waiter : std::exchange(stop_waiters_, {})) {
            complete_later(executor_, std::move(waiter), false);
        }
    });
    co_await await_completion<bool>(
        [this](Completion<bool> handler) { stop_waiters_.push_back(std::move(handler)); });
    timer->cancel();
}

}  // namespace tigerfans::seating

// The seat map readers see: one snapshot of every seat's state, read from the ledger by at most
// one request at a time and at most one read started every refresh interval
// (limits::seat_map_refresh_ms, longer for a venue whose read takes long: Settings), however
// many fans ask and whether the reads succeed or fail. A reader gets the snapshot at once while
// it is fresh enough (a refresh starts behind it when it is older than the refresh interval) and
// waits for the read in flight only when the snapshot is older than `stale_max_ms` (after a good
// read that took long, `stale_max_ms` past the moment the pacing let the next read start) or
// there is none yet; every waiter shares that read. While readers keep coming (one within
// `keep_warm_ms`), a read also follows the last one unasked once the map is half `stale_max_ms` old
// (and the pacing allows): a map changed by many holds while nobody looked (a whole read of a big
// venue) is not left for the next reader to wait for.
//
// The answer body, its gzip and its ETag are made once per snapshot, and the ETag is a digest of
// the states, so every process of a sale names the same map by the same tag and a reader holding
// it gets 304.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tigerfans/core/async.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/core/result.hpp"
#include "tigerfans/seating/availability.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::seating {

namespace asio = boost::asio;

struct SeatMapSnapshot {
    SeatStates states;
    std::string body;  // {"etag","free","held","seats","sold","states","venue"}: states in base64.
    std::string body_gzip;        // The body compressed, for readers that accept gzip.
    std::string etag;             // Quoted, as the header carries it.
    std::int64_t read_at_us = 0;  // When the read began, on the map's clock (SeatMap::now_us).
    SeatCounts counts;            // The states counted, as the body gives them.
};

using SnapshotPtr = std::shared_ptr<const SeatMapSnapshot>;

class SeatMap {
public:
    using Read = std::function<asio::awaitable<Result<SeatStates>>()>;
    using Now = std::function<std::int64_t()>;

    struct Settings {
        std::uint32_t refresh_ms = limits::seat_map_refresh_ms;
        std::uint32_t stale_max_ms = stale_max_ms_default;
        // After a read that took d, the next starts no sooner than d * 100 / this after it:
        // a venue whose read is long is read less often, rather than the ledger being kept
        // busy with the map alone (1 to 100).
        std::uint32_t ledger_share_percent = ledger_share_percent_default;
        // How long after a reader the map goes on reading by itself, twice per stale_max_ms
        // (0: only when asked).
        std::uint32_t keep_warm_ms = 0;
    };
    // How old a map may be served while its refresh runs, unless the caller says otherwise;
    // after a good read that took long, older (servable()).
    static constexpr std::uint32_t stale_max_ms_default = 1'000;
    static constexpr std::uint32_t ledger_share_percent_default = 25;

    // `read` asks the ledger for every seat's state; `now_us` is the clock the ages are taken
    // by. The venue must outlive the map (a temporary is refused).
    SeatMap(asio::any_io_executor executor, const Venue& venue, Read read, Now now_us,
            Settings settings);
    SeatMap(asio::any_io_executor, Venue&&, Read, Now, Settings) = delete;
    ~SeatMap();
    SeatMap(const SeatMap&) = delete;
    SeatMap& operator=(const SeatMap&) = delete;

    // Starts a read now unless one is in flight or stopped, without waiting for it: the server
    // reads the map at start-up, so the first readers find it read or under way.
    void prime();

    // The snapshot to answer with, or why there is none (the ledger could not be read and no
    // snapshot young enough to serve is left; shutting_down after stop()).
    asio::awaitable<Result<SnapshotPtr>> current();

    // Waits for the read in flight, if any, at most `timeout` (then its waiters get
    // shutting_down); current() answers shutting_down from now on.
    asio::awaitable<void> stop(std::chrono::milliseconds timeout);

    std::uint64_t reads() const { return reads_; }

    // The clock the map takes its ages by; whatever is compared with a snapshot's read_at_us
    // (the seats held since, RecentHolds) is timed by it too.
    std::int64_t now_us() const { return now_us_(); }

private:
    void start_read(std::int64_t now_us);
    asio::awaitable<void> read_once();
    void publish(Result<SeatStates> states, std::int64_t read_at_us);
    void keep_warm();
    bool servable(std::int64_t now_us) const;

    asio::any_io_executor executor_;
    const Venue& venue_;
    Read read_;
    Now now_us_;
    Settings settings_;
    SnapshotPtr snapshot_;
    bool reading_ = false;
    std::int64_t last_read_us_ = 0;              // When the last read started.
    std::int64_t next_read_us_ = 0;              // No read starts before.
    std::int64_t paced_interval_us_ = 0;         // The last read's pacing; 0 if it failed.
    std::optional<Fault> last_fault_;            // Why the last read failed; empty when it did not.
    std::optional<std::int64_t> last_asked_us_;  // When a reader last asked; empty before any.
    asio::steady_timer warm_timer_;              // Starts the read that follows the last.
    bool stopped_ = false;
    std::uint64_t reads_ = 0;
    std::vector<Completion<Result<SnapshotPtr>>> waiters_;
    std::vector<Completion<bool>> stop_waiters_;
    std::shared_ptr<bool> alive_;  // False once destroyed: a read ending later changes nothing.
};

// The body and ETag of one set of states (what the map caches per snapshot).
SeatMapSnapshot make_snapshot(const Venue& venue, SeatStates states, std::int64_t read_at_us);

}  // namespace tigerfans::seating

// The waiting room (docs/ARCHITECTURE.md §3): fans join a queue before checkout, an admission
// step on the loop takes them off it at the configured rate, and each admitted fan gets a
// signed admission token that checkout asks for. Of several server processes on one store only
// the holder of the store's admission lease admits, and an operator's pause or rate, set on any
// of them, goes through the store to all. The queue lives in a QueueStore; this class
// holds the sale's timeline, the pacer and what an operator changes (pause, rate), serves the
// queue's routes and checks tokens for checkout. Loop thread only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/config/config.hpp"
#include "tigerfans/http/message.hpp"
#include "tigerfans/http/router.hpp"
#include "tigerfans/queue/admission_control.hpp"
#include "tigerfans/queue/admission_token.hpp"
#include "tigerfans/queue/pacer.hpp"
#include "tigerfans/queue/queue_store.hpp"
#include "tigerfans/queue/sale.hpp"
#include "tigerfans/seating/seat_map.hpp"

namespace tigerfans::flows {

namespace asio = boost::asio;

// Where checkout finds the token: this header, or else the cookie the status route sets.
inline constexpr std::string_view admission_token_header = "Admission-Token";
inline constexpr std::string_view admission_cookie = "tf_admission";
// The entry id, for the /queue page after a reload.
inline constexpr std::string_view queue_cookie = "tf_queue";

// The admissions of the last minute, from which the status route's rate and ETA come.
inline constexpr std::int64_t admission_rate_window_us = 60'000'000;

class WaitingRoom final : public queue::AdmissionControl {
public:
    // `start_us`: the server's start, the sale's opening when SALE_OPENS_AT is empty. With a
    // venue, `seat_map` (which must outlive this) counts its held seats against the holds
    // ceiling beside the classes' held tickets.
    WaitingRoom(asio::any_io_executor loop, const config::Config& config, queue::QueueStore& store,
                accounting::Ledger& ledger, std::int64_t start_us,
                seating::SeatMap* seat_map = nullptr);

    // Starts the admission step on the loop.
    void start();
    // Ends the admission step (waiting at most `wait` for a step in flight) and, when this
    // process admits, hands the admission lease over.
    asio::awaitable<void> stop(std::chrono::milliseconds wait);

    // POST /api/queue/join and GET /api/queue/{id}.
    http::Routes routes();

    // The request's admission token (header, else cookie), verified at `now_s`.
    queue::TokenCheck check_token(const http::Request& request, std::int64_t now_s) const;
    // Counts one of the admission's tickets: false when they are used up.
    asio::awaitable<Result<bool>> use_ticket(std::string_view entry_id);
    // Gives it back, for a checkout that holds nothing. A failure is logged: the fan has one
    // checkout fewer.
    asio::awaitable<void> return_ticket(std::string_view entry_id);

    const queue::SaleTimeline& timeline() const { return timeline_; }

    // queue::AdmissionControl
    queue::AdmissionState state() const override;
    void set_paused(bool paused) override;
    void set_rate(std::uint32_t per_second) override;

    // Runs one admission step at `now_us` (the loop calls it every limits::admission_step_ms;
    // tests call it to drive admission by hand).
    asio::awaitable<void> step(std::int64_t now_us);

    // Admissions a second over the last minute, 0 before two admissions were seen.
    double measured_rate() const;

private:
    asio::awaitable<void> loop();
    asio::awaitable<void> guarded_step(std::int64_t now_us);
    std::uint64_t active_holds(std::int64_t now_us);
    asio::awaitable<void> read_holds(std::int64_t asked_us);
    asio::awaitable<void> admit_due(std::int64_t now_us);
    asio::awaitable<void> store_settings();
    asio::awaitable<bool> take_lease(std::int64_t now_us);
    asio::awaitable<void> give_up_lease();
    void note_admissions(std::int64_t now_us);

    asio::awaitable<http::Response> join(http::Request& request);
    http::Response join_answer(unsigned status, const std::string& entry_id, queue::Phase phase,
                               std::int64_t now_us) const;
    asio::awaitable<http::Response> status(http::Request& request);
    http::Response admitted_answer(std::string_view entry_id, const queue::EntryStatus& status,
                                   std::int64_t now_us) const;
    http::Response waiting_answer(std::string_view entry_id, const queue::EntryStatus& status,
                                  std::int64_t now_us) const;

    const config::Config& config_;
    queue::QueueStore& store_;
    accounting::Ledger& ledger_;
    seating::SeatMap* seat_map_;  // With a venue; else nullptr.
    queue::SaleTimeline timeline_;
    std::string token_key_;
    queue::AdmissionPacer pacer_;
    bool paused_ = false;
    // The admission lease (QueueStore::lead): only its holder among the processes admits.
    std::string lease_owner_;  // SERVER_NAME and a random suffix: unique even if names clash.
    bool leading_ = false;     // As of the last step.
    std::int64_t last_step_us_ = 0;
    // An operator's change made here that the store has not taken yet, per setting.
    bool paused_dirty_ = false;
    bool rate_dirty_ = false;
    std::uint64_t waiting_ = 0;              // As of the last step that read the counts.
    std::uint64_t joined_since_counts_ = 0;  // This process's joins since that reading.
    std::uint64_t admitted_ = 0;             // The highest admission number seen.
    std::deque<std::pair<std::int64_t, std::uint64_t>> admissions_;  // (time, admitted_), a minute.
    std::int64_t counts_read_us_ = 0;
    std::optional<std::uint64_t> holds_;  // Tickets and seats held, as last read.
    std::int64_t holds_read_us_ = 0;
    bool holds_reading_ = false;

    asio::steady_timer timer_;
    bool loop_running_ = false;
    bool stopping_ = false;
};

}  // namespace tigerfans::flows

// The waiting room: joins, the admission step, the status answers and checkout's token check.
#include "tigerfans/flows/waiting_room.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/core/timer_loop.hpp"
#include "tigerfans/http/errors.hpp"
#include "tigerfans/http/json_writer.hpp"

namespace tigerfans::flows {

// A holder stalled past its lease may finish one more step after another took over: the pacer
// never accrues more than the lease's length, so that step admits at most a lease's worth.
static_assert(queue::catch_up_max_us <= limits::admission_lease_us);

namespace {
using http::Request;
using http::Response;

constexpr std::int64_t us_per_s = 1'000'000;
constexpr std::int64_t us_per_ms = 1'000;
// How often a step reads the queue's length for the operator's view.
constexpr std::int64_t counts_interval_us = 1'000'000;
// The status route's hint for the next poll: a quarter of the wait, within these bounds.
constexpr std::int64_t poll_min_ms = 1'000;
constexpr std::int64_t poll_max_ms = 30'000;
// How old a reading of the active holds may be for the ceiling to trust it.
constexpr std::int64_t holds_fresh_us = 1'000'000;

static_assert(queue::admission_tickets_max == 1'000, "the config table's ADMISSION_TICKETS bound");

std::int64_t whole_seconds_until(std::int64_t from_us, std::int64_t to_us) {
    return to_us <= from_us ? 0 : (to_us - from_us + us_per_s - 1) / us_per_s;
}

std::int64_t poll_after_ms(double wait_s) {
    const double quarter_ms = wait_s * 1000.0 / 4.0;
    if (!(quarter_ms > static_cast<double>(poll_min_ms))) return poll_min_ms;
    return std::min(poll_max_ms, static_cast<std::int64_t>(quarter_ms));
}

}  // namespace

WaitingRoom::WaitingRoom(asio::any_io_executor loop, const config::Config& config,
                         queue::QueueStore& store, accounting::Ledger& ledger,
                         std::int64_t start_us, seating::SeatMap* seat_map)
    : config_(config),
      store_(store),
      ledger_(ledger),
      seat_map_(seat_map),
      timeline_(queue::sale_timeline(config, start_us)),
      token_key_(queue::admission_key(config.session_secret)),
      // Admissions accrue from the sale's opening, or from this start when that has passed.
      pacer_(config.admit_per_second, config.admit_holds_ceiling,
             std::max(timeline_.sale_opens_us, start_us)),
      lease_owner_(config.server_name + "/" + queue::new_entry_id()),
      timer_(loop) {}

void WaitingRoom::start() {
    spawn_timer_loop(timer_.get_executor(), loop(), loop_running_, "waiting room");
}

asio::awaitable<void> WaitingRoom::stop(std::chrono::milliseconds wait) {
    stopping_ = true;
    co_await stop_timer_loop(
        timer_, [this] { return loop_running_ || holds_reading_; }, wait);
    // An operator's pause or rate set since the last step reaches the store before the exit:
    // the other processes go on admitting by what the store says.
    if (paused_dirty_ || rate_dirty_) co_await store_settings();
    if (leading_) co_await give_up_lease();
}

// The lease ends just after this process's last step (a lease must end after it starts), so
// another process takes over at its next step instead of when the lease would have run out. A
// store that does not answer leaves the lease to run out.
asio::awaitable<void> WaitingRoom::give_up_lease() {
    Result<queue::AdmissionLease> ended =
        co_await store_.lead(lease_owner_, last_step_us_, last_step_us_ + 1);
    leading_ = false;
    if (ended) {
        spdlog::info("waiting room: admission handed over (this process stops)");
    } else {
        spdlog::warn(
            "waiting room: could not hand admission over ({}); it passes to another "
            "process when the lease runs out",
            fault_name(ended.fault()));
    }
}

// Steps run at fixed times, admission_step_ms apart, not that long after the last one ended:
// the step's own round trips would otherwise stretch every period, and the most a second's steps
// admit (admit_per_second_max) would not hold. A step that overran its period is followed at
// once.
asio::awaitable<void> WaitingRoom::loop() {
    boost::system::error_code ignored;
    auto next = std::chrono::steady_clock::now();
    while (!stopping_) {
        next = std::max(next + std::chrono::milliseconds(limits::admission_step_ms),
                        std::chrono::steady_clock::now());
        timer_.expires_at(next);
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        if (stopping_) break;
        co_await guarded_step(unix_now_us());
    }
}

// A step that throws (a bug, or memory running out) is logged and the next one runs: admission
// never ends silently.
asio::awaitable<void> WaitingRoom::guarded_step(std::int64_t now_us) {
    try {
        co_await step(now_us);
    } catch (const std::exception& failure) {
        spdlog::error("waiting room: an admission step failed: {}", failure.what());
    }
}

// The step never waits for the ledger: it starts a read when none is out and uses the last
// one while it is fresh. Unknown or stale holds count as the ceiling: admission waits rather
// than overruns it.
std::uint64_t WaitingRoom::active_holds(std::int64_t now_us) {
    if (config_.admit_holds_ceiling == 0) return 0;  // Nothing to compare them with.
    if (!holds_reading_ && !stopping_) {
        holds_reading_ = true;
        asio::co_spawn(timer_.get_executor(), read_holds(now_us),
                       [this](const std::exception_ptr&) { holds_reading_ = false; });
    }
    if (!holds_ || now_us - holds_read_us_ > holds_fresh_us) return config_.admit_holds_ceiling;
    return *holds_;
}

// A reading counts from the step that asked for it, or from as long before as the seat map's
// snapshot is old: a venue's held seats come from the map fans read (this process's holds since
// its last read not among them), which goes on reading the ledger at its own pace while the
// ceiling asks, as it does for fans.
asio::awaitable<void> WaitingRoom::read_holds(std::int64_t asked_us) {
    auto inventory = co_await ledger_.inventory();
    if (!inventory) {
        holds_.reset();
        co_return;
    }
    std::uint64_t held = inventory->class_a.held + inventory->class_b.held;
    if (seat_map_ != nullptr) {
        auto map = co_await seat_map_->current();
        if (!map) {
            holds_.reset();
            co_return;
        }
        held += (*map)->counts.held;
        asked_us -= std::max<std::int64_t>(0, seat_map_->now_us() - (*map)->read_at_us);
    }
    holds_ = held;
    holds_read_us_ = asked_us;
}

// Every step renews (or tries to take) the admission lease, whatever the phase, so that an
// operator's settings reach this process before the sale too; only the holder admits.
asio::awaitable<void> WaitingRoom::step(std::int64_t now_us) {
    last_step_us_ = now_us;
    // A clock set back reads at once too, rather than keep a count from the future.
    if (now_us - counts_read_us_ >= counts_interval_us || now_us < counts_read_us_) {
        counts_read_us_ = now_us;
        if (auto counts = co_await store_.counts()) {
            waiting_ = counts->waiting;
            joined_since_counts_ = 0;
            admitted_ = std::max(admitted_, counts->admitted);
        }
    }
    if (paused_dirty_ || rate_dirty_) co_await store_settings();
    const bool leading = co_await take_lease(now_us);
    if (timeline_.phase_at(now_us) != queue::Phase::sale) co_return;
    if (leading) {
        co_await admit_due(now_us);
    } else {
        pacer_.step(now_us, true, 0);  // Another process admits: nothing accrues here.
    }
    note_admissions(now_us);
}

// Writes only what an operator changed here, so that a rate set on this process never undoes
// a pause made on another (and the other way round).
asio::awaitable<void> WaitingRoom::store_settings() {
    queue::AdmissionSettings changed;
    if (paused_dirty_) changed.paused = paused_;
    if (rate_dirty_) changed.per_second = pacer_.per_second();
    paused_dirty_ = rate_dirty_ = false;
    Status stored = co_await store_.set_settings(changed);
    if (!stored) {
        // The next step tries again (with any change made meanwhile).
        paused_dirty_ = paused_dirty_ || changed.paused.has_value();
        rate_dirty_ = rate_dirty_ || changed.per_second.has_value();
        spdlog::warn("waiting room: could not store the admission settings: {}",
                     fault_name(stored.fault()));
    }
}

// Takes each of the store's settings unless an operator changed it here since the last write
// (that change is stored by the next step first).
asio::awaitable<bool> WaitingRoom::take_lease(std::int64_t now_us) {
    Result<queue::AdmissionLease> lease =
        co_await store_.lead(lease_owner_, now_us, now_us + limits::admission_lease_us);
    const bool leading = lease.ok() && lease->leading;
    if (leading != leading_) {
        spdlog::info("waiting room: {}", leading ? "this process admits now"
                                                 : "another process admits (or the store is down)");
    }
    leading_ = leading;
    if (!lease) co_return leading;
    const queue::AdmissionSettings& settings = lease->settings;
    if (!paused_dirty_ && settings.paused && *settings.paused != paused_) {
        spdlog::info("waiting room: admission {} (by the store's settings)",
                     *settings.paused ? "paused" : "resumed");
        paused_ = *settings.paused;
    }
    if (!rate_dirty_ && settings.per_second && *settings.per_second != pacer_.per_second()) {
        spdlog::info("waiting room: admission rate {} a second (by the store's settings)",
                     *settings.per_second);
        pacer_.set_rate(*settings.per_second);
    }
    co_return leading;
}

asio::awaitable<void> WaitingRoom::admit_due(std::int64_t now_us) {
    const std::uint64_t holds = active_holds(now_us);
    const std::uint64_t due =
        pacer_.step(now_us, paused_, holds, limits::admission_step_entries_max);
    if (due == 0) co_return;
    const std::uint32_t keep_s = config_.admission_ttl_s + limits::admitted_entry_margin_s;
    auto admitted = co_await store_.admit(due, now_us, keep_s);
    if (!admitted) {
        // The entries stay queued; the admissions they were due are not made up later.
        spdlog::warn("waiting room: admission step failed: {}", fault_name(admitted.fault()));
        co_return;
    }
    for (const queue::AdmittedEntry& entry : *admitted) {
        admitted_ = std::max(admitted_, entry.admitted_seq);
    }
    waiting_ -= std::min<std::uint64_t>(waiting_, admitted->size());
}

// One point a step while the sale is open, so that a pause or an empty queue brings the
// measured rate down over the window.
void WaitingRoom::note_admissions(std::int64_t now_us) {
    if (!admissions_.empty() && now_us < admissions_.back().first)
        admissions_.clear();  // Set back.
    admissions_.emplace_back(now_us, admitted_);
    while (admissions_.front().first < now_us - admission_rate_window_us) admissions_.pop_front();
}

double WaitingRoom::measured_rate() const {
    if (admissions_.size() < 2) return 0;
    const auto& [first_us, first] = admissions_.front();
    const auto& [last_us, last] = admissions_.back();
    if (last_us <= first_us) return 0;
    return static_cast<double>(last - first) * us_per_s / static_cast<double>(last_us - first_us);
}

queue::AdmissionState WaitingRoom::state() const {
    return {true, paused_, pacer_.per_second(), waiting_, admitted_};
}

void WaitingRoom::set_paused(bool paused) {
    if (paused != paused_)
        spdlog::info("waiting room: admission {}", paused ? "paused" : "resumed");
    paused_ = paused;
    paused_dirty_ = true;
}

void WaitingRoom::set_rate(std::uint32_t per_second) {
    TF_ASSERT(per_second >= 1 && per_second <= limits::admit_per_second_max);
    spdlog::info("waiting room: admission rate {} a second", per_second);
    pacer_.set_rate(per_second);
    rate_dirty_ = true;
}

queue::TokenCheck WaitingRoom::check_token(const Request& request, std::int64_t now_s) const {
    if (auto header = http::lookup_header(request.headers, admission_token_header)) {
        return queue::verify_token(token_key_, *header, now_s);
    }
    // The first valid cookie admits; without one, the first cookie's refusal is the answer.
    queue::TokenCheck check = queue::verify_token(token_key_, "", now_s);
    bool seen = false;
    http::find_cookie(request, admission_cookie, [&](std::string_view token) {
        queue::TokenCheck this_one = queue::verify_token(token_key_, token, now_s);
        if (this_one.ok() || !seen) check = std::move(this_one);
        seen = true;
        return check.ok();
    });
    return check;
}

asio::awaitable<Result<bool>> WaitingRoom::use_ticket(std::string_view entry_id) {
    Result<bool> counted = co_await store_.use_ticket(entry_id, config_.admission_tickets);
    co_return counted;
}

asio::awaitable<void> WaitingRoom::return_ticket(std::string_view entry_id) {
    Status returned = co_await store_.return_ticket(entry_id);
    if (!returned) {
        spdlog::warn("waiting room: could not give back an admission's ticket: {}",
                     fault_name(returned.fault()));
    }
}

// The join's answer: 201 for a new entry, 200 for the one the fan's cookie names.
Response WaitingRoom::join_answer(unsigned status, const std::string& entry_id, queue::Phase phase,
                                  std::int64_t now_us) const {
    http::JsonObjectWriter body;  // Members in alphabetical order.
    body.string("entry_id", entry_id)
        .string("phase", queue::phase_name(phase))
        .string("sale_opens_at", iso8601_utc(timeline_.sale_opens_us))
        .integer("sale_opens_in_s", whole_seconds_until(now_us, timeline_.sale_opens_us));
    // The cookie lasts until the sale's opening and a day of queueing and admission after it.
    const std::int64_t cookie_s = whole_seconds_until(now_us, timeline_.sale_opens_us) + 24 * 3600;
    Response response = Response::json(status, std::move(body).finish());
    response.headers.emplace_back(
        "Set-Cookie",
        http::set_cookie(queue_cookie, entry_id, cookie_s, {.secure = config_.cookie_secure}));
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
}

asio::awaitable<Response> WaitingRoom::join(Request& request) {
    // A join made by another site's page in its visitors' browsers would queue them unasked
    // (and spend their address's rate limit); browsers name that site in Origin.
    if (!http::same_origin(request)) {
        co_return http::error_response(403, "forbidden", "cross-site join");
    }
    const std::int64_t now_us = unix_now_us();
    const queue::Phase phase = timeline_.phase_at(now_us);
    if (phase == queue::Phase::not_open) {
        nlohmann::json body = {
            {"error", "queue_not_open"},
            {"detail", "the queue opens before the sale; join again then"},
            {"opens_in_s", whole_seconds_until(now_us, timeline_.prequeue_opens_us)}};
        co_return Response::json(409, body.dump());
    }
    // A fan whose cookie names an entry still waiting keeps it: a second click (or a reload of
    // a form) never gives up a place or takes a second one.
    const auto cookie_entry = http::cookie_value(request.header("Cookie"), queue_cookie);
    if (cookie_entry && queue::is_entry_id(*cookie_entry)) {
        auto known = co_await store_.status(*cookie_entry);
        if (!known) co_return http::fault_response(known.fault(), "queue join");
        if (known->has_value() && (*known)->state == queue::EntryState::waiting) {
            co_return join_answer(200, *cookie_entry, queue::key_phase((*known)->key), now_us);
        }
    }
    // A bound on the entries waiting in the store, not a promise of order: the count is up to
    // a second old (other processes' joins since, and joins in flight here, are not in it; nor
    // anything before a process's first reading), so somewhat more than the cap may get in.
    const std::uint64_t cap = config_.queue_waiting_max;
    if (cap != 0 && waiting_ + joined_since_counts_ >= cap) {
        Response full =
            http::error_response(503, "queue_full", "the queue is full: try again later");
        full.headers.emplace_back("Retry-After", "60");
        co_return full;
    }
    std::string entry_id = queue::new_entry_id();
    const std::uint64_t draw = queue::raffle_key(queue::secure_random64());
    auto joined = co_await store_.join(entry_id, phase, draw, now_us);
    if (!joined) co_return http::fault_response(joined.fault(), "queue join");
    joined_since_counts_++;
    co_return join_answer(201, entry_id, phase, now_us);
}

asio::awaitable<Response> WaitingRoom::status(Request& request) {
    const std::string entry_id(request.path_param("id"));
    if (!queue::is_entry_id(entry_id)) {
        co_return http::error_response(400, "invalid_entry_id",
                                       "a queue entry id is 32 lower-case hex digits");
    }
    auto found = co_await store_.status(entry_id);
    if (!found) co_return http::fault_response(found.fault(), "queue status");
    if (!found->has_value()) {
        co_return http::error_response(404, "unknown_entry",
                                       "no such queue entry (or its admission is long over)");
    }
    const queue::EntryStatus& entry = **found;
    if (entry.state == queue::EntryState::admitted &&
        (entry.admitted_at_us <= 0 || entry.admitted_seq == 0)) {
        spdlog::error("waiting room: the store holds an admission without its number or time");
        co_return http::fault_response(Fault::internal, "queue status");
    }
    const std::int64_t now_us = unix_now_us();
    Response response = (*found)->state == queue::EntryState::admitted
                            ? admitted_answer(entry_id, **found, now_us)
                            : waiting_answer(entry_id, **found, now_us);
    response.headers.emplace_back("Cache-Control", "no-store");
    co_return response;
}

Response WaitingRoom::admitted_answer(std::string_view entry_id, const queue::EntryStatus& status,
                                      std::int64_t now_us) const {
    const std::int64_t issued_s = status.admitted_at_us / us_per_s;
    const queue::Admission admission = queue::admit(
        std::string(entry_id), issued_s, config_.admission_ttl_s, config_.admission_tickets);
    const std::string token = queue::issue_token(token_key_, admission);
    const std::uint32_t used = std::min(status.tickets_used, admission.tickets);
    http::JsonObjectWriter body(512);  // Members in alphabetical order.
    body.integer("admitted_at_ms", status.admitted_at_us / us_per_ms)
        .integer("admitted_seq", static_cast<std::int64_t>(status.admitted_seq))
        .string("entry_id", entry_id)
        .string("phase", queue::phase_name(timeline_.phase_at(now_us)))
        .integer("poll_after_ms", poll_max_ms)
        .integer("sale_opens_in_s", whole_seconds_until(now_us, timeline_.sale_opens_us))
        .string("state", "admitted")
        .integer("tickets", admission.tickets)
        .integer("tickets_left", admission.tickets - used)
        .string("token", token)
        .integer("token_expires_at_ms", admission.expires_s * 1000);
    Response response = Response::json(200, std::move(body).finish());
    response.headers.emplace_back(
        "Set-Cookie",
        http::set_cookie(admission_cookie, token, admission.expires_s - now_us / us_per_s,
                         {.secure = config_.cookie_secure}));
    return response;
}

Response WaitingRoom::waiting_answer(std::string_view entry_id, const queue::EntryStatus& status,
                                     std::int64_t now_us) const {
    const queue::Phase phase = timeline_.phase_at(now_us);
    const std::int64_t opens_in_s = whole_seconds_until(now_us, timeline_.sale_opens_us);
    http::JsonObjectWriter body(384);  // Members in alphabetical order.
    if (phase != queue::Phase::sale) {
        // A raffled place is not shown before the sale opens: nobody can rejoin for a better
        // draw.
        body.string("entry_id", entry_id)
            .string("phase", queue::phase_name(phase))
            .integer("poll_after_ms", poll_after_ms(static_cast<double>(opens_in_s)))
            .integer("sale_opens_in_s", opens_in_s)
            .string("state", "prequeue");
        return Response::json(200, std::move(body).finish());
    }
    const double rate = measured_rate();
    const double eta_s = rate > 0 ? static_cast<double>(status.ahead) / rate : -1;
    const double target = pacer_.per_second();
    body.integer("admit_per_second", std::llround(rate))
        .integer("ahead", static_cast<std::int64_t>(status.ahead));
    if (eta_s >= 0) {
        body.integer("eta_s", std::llround(std::ceil(eta_s)));
    } else {
        body.null("eta_s");
    }
    body.string("entry_id", entry_id)
        .string("phase", queue::phase_name(phase))
        .integer("poll_after_ms",
                 poll_after_ms(eta_s >= 0 ? eta_s : static_cast<double>(status.ahead) / target))
        .integer("position", static_cast<std::int64_t>(status.ahead) + 1)
        .integer("sale_opens_in_s", 0)
        .string("state", "waiting");
    return Response::json(200, std::move(body).finish());
}

http::Routes WaitingRoom::routes() {
    using http::Method;
    return {
        {Method::post, "/api/queue/join", [this](Request& request) { return join(request); }},
        {Method::get, "/api/queue/{id}", [this](Request& request) { return status(request); }},
    };
}

}  // namespace tigerfans::flows

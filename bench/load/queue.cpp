// The waiting room under load (see load.hpp's QueueOptions). The run, in order:
//   1. the pre-queue share of the fans joins (POST /api/queue/join) before the sale opens;
//   2. once the opening (from the join answers) has passed, the rest join;
//   3. every fan is polled (GET /api/queue/<id>) until it is admitted, each one again when the
//      entries ahead of it should be through (queue_stats.hpp's poll_delay), so that most fans
//      cost two polls: the first learns the position, the second finds the admission;
//   4. the first admitted fans check out with their token and pay, and checkouts with no
//      token, a malformed one, forged ones and a used-up one must be refused.
// A fan's join order is the order its join answer arrived in, over both join phases.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <deque>
#include <limits>
#include <thread>

#include "load/json_fields.hpp"
#include "load/load.hpp"
#include "load/order.hpp"
#include "load/queue_stats.hpp"
#include "load/runner.hpp"
#include "tigerfans/core/clock.hpp"

namespace tigerfans::loadgen {

namespace {

using Clock = std::chrono::steady_clock;

// The second join phase starts this long after the opening the server announced, so that no
// clock rounding puts one of its joins into the pre-queue.
constexpr std::chrono::milliseconds opening_margin{250};
// The next poll of a fan after a failed poll, or when no admission rate is known.
constexpr std::chrono::milliseconds poll_retry{1'000};
// The next poll of a fan the server still shows in the pre-queue.
constexpr std::chrono::milliseconds prequeue_repoll{250};
// The longest the poll ticker sleeps before looking at the schedule again, and the shortest
// (while a fan is due but every worker is busy).
constexpr std::chrono::milliseconds tick_max{100};
constexpr std::chrono::milliseconds tick_min{1};
constexpr std::size_t entry_id_chars = 32;
// Buyers' email addresses are fan<offset + i>@..., apart from the flow mode's fan<i>.
constexpr int buyer_email_offset = 10'000'000;
// A used-up check gives up on a token allowing more tickets than this.
constexpr int used_up_tickets_max = 1'000;

struct Fan {
    std::string entry_id;
    int join_order = -1;    // Among all join answers, 0 the first to arrive.
    bool prequeue = false;  // The join answer's phase was the pre-queue.
    bool settled = false;   // Admitted, or given up on.
    bool admitted = false;
    bool checked_out = false;  // A buyer whose checkout took one of its token's tickets.
    std::int64_t admitted_seq = 0;
    std::int64_t admitted_at_ms = 0;
    std::string token;
    int tickets = 0;
};

double seconds_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

// "HTTP 403 admission_forged" for an error answer with a JSON `error`, else Reply::describe().
std::string describe_with_error(const Reply& reply) {
    std::string text = reply.describe();
    if (!reply.ok() || reply.status < 400) return text;
    if (const auto code = json_string_member(reply.body, "error")) text.append(" ").append(*code);
    return text;
}

// The token with the signature's first character changed: genuine form, wrong signature.
std::string forge_signature(std::string token) {
    const std::size_t dot = token.rfind('.');
    if (dot == std::string::npos || dot + 1 >= token.size()) return token + "x";
    char& first = token[dot + 1];
    first = first == 'A' ? 'B' : 'A';
    return token;
}

// The token with its ticket count (the fifth part) raised by one (lowered at the maximum),
// the signature kept: a count the server never signed.
std::string forge_tickets(const std::string& token, int tickets) {
    std::size_t start = 0;
    for (int part = 0; part < 4; part++) {
        start = token.find('.', start);
        if (start == std::string::npos) return token + "x";
        start++;
    }
    const std::size_t end = token.find('.', start);
    if (end == std::string::npos) return token + "x";
    const int forged = tickets < used_up_tickets_max ? tickets + 1 : tickets - 1;
    return token.substr(0, start) + std::to_string(forged) + token.substr(end);
}

class QueueRun {
public:
    explicit QueueRun(const QueueOptions& options)
        : options_(options), server_(resolve(options.flow.target)), fans_(options.fans) {
        report_.fans = options.fans;
        report_.concurrency = options.flow.concurrency;
        report_.configured_per_s = options.admit_per_second;
    }

    QueueReport run() {
        const auto started = Clock::now();
        const int early = static_cast<int>(std::lround(options_.fans * options_.prequeue_share));
        join_phase(0, early, true, report_.prequeue_joins);
        wait_for_opening();
        join_phase(early, options_.fans - early, false, report_.later_joins);
        poll_until_admitted();
        summarize_admissions();
        buy();
        check_tokens();
        report_.wall_s = seconds_between(started, Clock::now());
        return std::move(report_);
    }

private:
    double configured_or(double reported) const {
        return options_.admit_per_second.value_or(reported);
    }

    RunOptions run_options(int total) const {
        return {server_, total, std::min(options_.flow.concurrency, std::max(total, 1)),
                options_.flow.request_timeout};
    }

    // Joins fans first .. first + count - 1, at most `concurrency` at a time; `early` before
    // the opening.
    void join_phase(int first, int count, bool early, Tally& tally) {
        if (count <= 0) return;
        std::vector<double> latencies;
        latencies.reserve(static_cast<std::size_t>(count));
        const auto call = [this, first, early, &tally, &latencies](int index,
                                                                   Connection& connection) {
            return join(first + index, early, connection, tally, latencies);
        };
        tally.attempted = count;
        tally.wall_s = run_calls(io_, run_options(count), call);
        tally.latency = summarize(std::move(latencies));
    }

    asio::awaitable<void> join(int fan, bool early, Connection& connection, Tally& tally,
                               std::vector<double>& latencies) {
        connection.prepare("POST", "/api/queue/join", {{"Content-Type", "application/json"}}, "{}");
        const auto sent = Clock::now();
        const Reply reply = co_await connection.exchange();
        const auto answered = Clock::now();
        if (!reply.ok() || reply.status != 201) {
            tally.errors[describe_with_error(reply)]++;
            co_return;
        }
        const auto entry_id = json_string_member(reply.body, "entry_id");
        const auto phase = json_string_member(reply.body, "phase");
        if (!entry_id || entry_id->size() != entry_id_chars || !phase) {
            tally.errors["HTTP 201 without entry_id or phase"]++;
            co_return;
        }
        tally.ok++;
        latencies.push_back(seconds_between(sent, answered));
        Fan& joined = fans_[static_cast<std::size_t>(fan)];
        joined.entry_id = std::string(*entry_id);
        joined.join_order = joins_answered_++;
        joined.prequeue = *phase == "prequeue";
        if (early && !joined.prequeue) report_.prequeue_late++;
        if (!opening_) learn_opening(reply.body, answered);
    }

    // The opening on this process's steady clock: from `sale_opens_at` (exact to the
    // microsecond the server writes) or else from `sale_opens_in_s`.
    void learn_opening(std::string_view body, Clock::time_point answered) {
        const auto in_s = json_number_member(body, "sale_opens_in_s");
        if (in_s) report_.sale_opens_in_s = *in_s;
        const auto at = json_string_member(body, "sale_opens_at");
        if (const auto at_us = at ? parse_iso8601_utc(*at) : std::nullopt) {
            opening_ = answered + std::chrono::microseconds(*at_us - unix_now_us());
        } else if (in_s) {
            opening_ = answered + std::chrono::microseconds(std::llround(*in_s * 1e6));
        }
    }

    void wait_for_opening() const {
        if (opening_) std::this_thread::sleep_until(*opening_ + opening_margin);
    }

    void poll_until_admitted() {
        const auto started = Clock::now();
        for (std::size_t i = 0; i < fans_.size(); i++) {
            if (fans_[i].entry_id.empty()) continue;
            schedule_.add(static_cast<int>(i), started);
            waiting_++;
        }
        deadline_ = started + options_.wait_timeout;
        last_admission_seen_ = started;
        {
            TimeoutSweep sweep(io_, options_.flow.request_timeout);
            std::deque<Connection> connections;
            const int workers = std::min(options_.flow.concurrency, std::max(waiting_, 1));
            for (int i = 0; i < workers; i++) {
                Connection& connection = connections.emplace_back(io_, server_, sweep);
                asio::co_spawn(io_, poll_worker(connection), asio::detached);
                live_workers_++;
            }
            ticking_ = true;
            asio::co_spawn(io_, poll_ticker(), asio::detached);
            io_.restart();
            while ((live_workers_ > 0 || ticking_) && io_.run_one() > 0) {
            }
            io_.restart();
            io_.poll();
        }
        report_.polls.wall_s = seconds_between(started, last_admission_seen_);
        report_.polls.latency = summarize(std::move(poll_latencies_));
    }

    bool polling() const { return waiting_ > 0 && Clock::now() < deadline_; }

    // Polls fans as they come due. A worker with nothing due waits on `idle_` until the ticker
    // (or a worker that found more due than it takes) wakes it: one wake-up per due fan, not
    // one per worker.
    asio::awaitable<void> poll_worker(Connection& connection) {
        std::string target;
        while (polling()) {
            const auto now = Clock::now();
            const std::optional<int> fan = schedule_.take_due(now);
            if (!fan) {
                idle_workers_++;
                co_await idle_.async_wait(asio::as_tuple(asio::use_awaitable));
                idle_workers_--;
                continue;
            }
            const auto next = schedule_.next_due();
            if (idle_workers_ > 0 && next && *next <= now) idle_.cancel_one();
            target = "/api/queue/" + fans_[static_cast<std::size_t>(*fan)].entry_id;
            connection.prepare("GET", target);
            const auto sent = Clock::now();
            const Reply reply = co_await connection.exchange();
            record_poll(*fan, reply, sent);
        }
        live_workers_--;
    }

    // Wakes an idle worker when the earliest fan comes due; once polling is over, all of them.
    asio::awaitable<void> poll_ticker() {
        asio::steady_timer tick(io_);
        while (live_workers_ > 0) {
            const auto now = Clock::now();
            if (!polling()) {
                idle_.cancel();
            } else if (const auto next = schedule_.next_due(); next && *next <= now) {
                if (idle_workers_ > 0) idle_.cancel_one();
            }
            const auto next = schedule_.next_due().value_or(now + tick_max);
            tick.expires_at(std::clamp(next, now + tick_min, now + tick_max));
            co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        ticking_ = false;
    }

    void give_up(Fan& fan) {
        fan.settled = true;
        waiting_--;
    }

    void record_poll(int index, const Reply& reply, Clock::time_point sent) {
        Fan& fan = fans_[static_cast<std::size_t>(index)];
        const auto now = Clock::now();
        Tally& polls = report_.polls;
        polls.attempted++;
        if (!reply.ok() || reply.status != 200) {
            polls.errors[describe_with_error(reply)]++;
            // The server does not know the entry (or calls its id malformed): no poll helps.
            if (reply.ok() && (reply.status == 404 || reply.status == 400)) {
                give_up(fan);
            } else {
                schedule_.add(index, now + poll_retry);
            }
            return;
        }
        const std::string_view state = json_string_member(reply.body, "state").value_or("");
        if (state == "admitted" && admitted(fan, reply.body)) {
            polls.ok++;
            poll_latencies_.push_back(seconds_between(sent, now));
            last_admission_seen_ = now;
            return;
        }
        if (state == "waiting" || state == "prequeue") {
            polls.ok++;
            poll_latencies_.push_back(seconds_between(sent, now));
            std::chrono::microseconds delay = prequeue_repoll;
            if (state == "waiting") {
                const auto position = json_integer_member(reply.body, "position").value_or(1);
                const double reported =
                    json_number_member(reply.body, "admit_per_second").value_or(0);
                delay = poll_delay(position, configured_or(reported), poll_retry);
            }
            schedule_.add(index, now + delay);
            return;
        }
        polls.errors["HTTP 200 in state '" + std::string(state) + "' without its fields"]++;
        schedule_.add(index, now + poll_retry);
    }

    // Records an admission answer's fields; false when one is missing.
    bool admitted(Fan& fan, std::string_view body) {
        const auto seq = json_integer_member(body, "admitted_seq");
        const auto at_ms = json_integer_member(body, "admitted_at_ms");
        const auto token = json_string_member(body, "token");
        const auto tickets = json_integer_member(body, "tickets");
        if (!seq || !at_ms || !token || token->empty()) return false;
        fan.admitted = true;
        fan.admitted_seq = *seq;
        fan.admitted_at_ms = *at_ms;
        fan.token = std::string(*token);
        fan.tickets = static_cast<int>(tickets.value_or(0));
        give_up(fan);
        return true;
    }

    void summarize_admissions() {
        std::vector<std::int64_t> seqs, stamps;
        std::vector<std::int64_t> band_order[2], band_seq[2];
        std::int64_t last_prequeue_seq = 0;
        std::int64_t first_later_seq = std::numeric_limits<std::int64_t>::max();
        for (const Fan& fan : fans_) {
            if (fan.entry_id.empty()) continue;
            if (!fan.admitted) {
                report_.never_admitted++;
                continue;
            }
            report_.admitted++;
            seqs.push_back(fan.admitted_seq);
            stamps.push_back(fan.admitted_at_ms);
            const int band = fan.prequeue ? 0 : 1;
            band_order[band].push_back(fan.join_order);
            band_seq[band].push_back(fan.admitted_seq);
            if (fan.prequeue) {
                last_prequeue_seq = std::max(last_prequeue_seq, fan.admitted_seq);
            } else {
                first_later_seq = std::min(first_later_seq, fan.admitted_seq);
            }
        }
        for (const Fan& fan : fans_) {
            if (fan.entry_id.empty()) continue;
            (fan.prequeue ? report_.prequeue_fans : report_.later_fans)++;
        }
        std::sort(seqs.begin(), seqs.end());
        report_.duplicate_seqs = static_cast<int>(
            seqs.size() -
            static_cast<std::size_t>(std::unique(seqs.begin(), seqs.end()) - seqs.begin()));
        report_.bands_in_order = last_prequeue_seq < first_later_seq;
        if (!stamps.empty()) {
            const auto [first, last] = std::minmax_element(stamps.begin(), stamps.end());
            report_.first_admitted_at_ms = *first;
            report_.last_admitted_at_ms = *last;
        }
        report_.admission_rate_per_s = admission_rate_per_s(stamps);
        report_.prequeue_tau = kendall_tau_b(band_order[0], band_seq[0]);
        report_.later_tau = kendall_tau_b(band_order[1], band_seq[1]);
    }

    // The admitted fans in admission order.
    std::vector<int> admission_order() const {
        std::vector<int> order;
        for (std::size_t i = 0; i < fans_.size(); i++) {
            if (fans_[i].admitted) order.push_back(static_cast<int>(i));
        }
        std::sort(order.begin(), order.end(), [this](int a, int b) {
            return fans_[static_cast<std::size_t>(a)].admitted_seq <
                   fans_[static_cast<std::size_t>(b)].admitted_seq;
        });
        return order;
    }

    void buy() {
        const std::vector<int> order = admission_order();
        buyers_.assign(
            order.begin(),
            order.begin() + std::min<std::ptrdiff_t>(options_.buyers,
                                                     static_cast<std::ptrdiff_t>(order.size())));
        if (order.size() > buyers_.size()) spare_ = order[buyers_.size()];
        const int total = static_cast<int>(buyers_.size());
        report_.buys.total = total;
        if (total == 0) return;
        OrderSamples samples;
        const auto call = [this, &samples](int index, Connection& connection) {
            return buy_one(index, connection, samples);
        };
        report_.buys.wall_s = run_calls(io_, run_options(total), call);
        samples.summarize_into(report_.buys);
    }

    asio::awaitable<void> buy_one(int index, Connection& connection, OrderSamples& samples) {
        const int fan_index = buyers_[static_cast<std::size_t>(index)];
        Fan& fan = fans_[static_cast<std::size_t>(fan_index)];
        const std::string_view cls = index % 2 == 0 ? "A" : "B";
        const OrderRun run = co_await one_order(connection, options_.flow, cls, "succeeded",
                                                buyer_email_offset + fan_index, fan.token);
        fan.checked_out = run.checked_out;
        samples.record(report_.buys, run);
    }

    void check_tokens() {
        const auto call = [this](int, Connection& connection) { return token_checks(connection); };
        run_calls(io_, run_options(1), call);
        for (const TokenCheck& check : report_.token_checks) {
            if (check.bought) report_.bought_without_valid_token++;
        }
    }

    // One checkout that must be refused with `expected`.
    asio::awaitable<void> refused_checkout(Connection& connection, std::string what,
                                           std::string expected, std::string token) {
        const std::string body = checkout_body("A", buyer_email_offset - 1);
        prepare_checkout(connection, body, token);
        const Reply reply = co_await connection.exchange();
        TokenCheck check{std::move(what), std::move(expected), describe_with_error(reply)};
        check.bought = reply.ok() && reply.status >= 200 && reply.status < 300;
        report_.token_checks.push_back(std::move(check));
    }

    asio::awaitable<void> token_checks(Connection& connection) {
        co_await refused_checkout(connection, "no token", "admission_missing", "");
        co_await refused_checkout(connection, "malformed token", "admission_malformed",
                                  "v1.not-a-token");
        // A fan admitted but not buying lends its token to the forgeries; else the first buyer.
        const Fan* lender = spare_ >= 0       ? &fans_[static_cast<std::size_t>(spare_)]
                            : buyers_.empty() ? nullptr
                                              : &fans_[static_cast<std::size_t>(buyers_[0])];
        if (lender) {
            co_await refused_checkout(connection, "forged signature", "admission_forged",
                                      forge_signature(lender->token));
            co_await refused_checkout(connection, "forged ticket count", "admission_forged",
                                      forge_tickets(lender->token, lender->tickets));
        }
        const auto bought = std::find_if(buyers_.begin(), buyers_.end(), [this](int index) {
            return fans_[static_cast<std::size_t>(index)].checked_out;
        });
        if (bought == buyers_.end()) co_return;
        const Fan& buyer = fans_[static_cast<std::size_t>(*bought)];
        report_.token_tickets = buyer.tickets;
        if (buyer.tickets < 1 || buyer.tickets > used_up_tickets_max) co_return;
        // The buyer used one ticket; the rest are valid checkouts, then the token is used up.
        for (int left = buyer.tickets - 1; left > 0; left--) {
            const std::string body = checkout_body("B", buyer_email_offset + *bought);
            prepare_checkout(connection, body, buyer.token);
            const Reply reply = co_await connection.exchange();
            if (!reply.ok() || reply.status != 200) break;
            report_.extra_checkouts_ok++;
        }
        co_await refused_checkout(connection, "used-up token", "admission_used_up", buyer.token);
    }

    const QueueOptions& options_;
    asio::io_context io_{1};
    tcp::endpoint server_;
    std::vector<Fan> fans_;
    QueueReport report_;
    int joins_answered_ = 0;
    std::optional<Clock::time_point> opening_;
    PollSchedule schedule_;
    int waiting_ = 0;  // Joined fans neither admitted nor given up on.
    int live_workers_ = 0;
    int idle_workers_ = 0;
    bool ticking_ = false;
    // Never expires: idle poll workers wait on it until cancel_one wakes one of them.
    asio::steady_timer idle_{io_, Clock::time_point::max()};
    Clock::time_point deadline_;
    Clock::time_point last_admission_seen_;
    std::vector<double> poll_latencies_;
    std::vector<int> buyers_;
    int spare_ = -1;  // An admitted fan that does not buy, if any.
};

}  // namespace

std::optional<double> QueueReport::rate_error() const {
    if (!admission_rate_per_s || !configured_per_s || *configured_per_s <= 0) return std::nullopt;
    return std::abs(*admission_rate_per_s / *configured_per_s - 1.0);
}

double QueueReport::joins_per_s() const {
    const double join_wall_s = prequeue_joins.wall_s + later_joins.wall_s;
    return join_wall_s > 0 ? joined() / join_wall_s : 0;
}

bool QueueReport::clean() const {
    const bool checks_refused = std::all_of(token_checks.begin(), token_checks.end(),
                                            [](const TokenCheck& c) { return c.as_expected(); });
    return joined() == fans && admitted == joined() && never_admitted == 0 && duplicate_seqs == 0 &&
           bands_in_order && buys.count(Outcome::paid) == buys.total && checks_refused &&
           bought_without_valid_token == 0;
}

QueueReport run_queue(const QueueOptions& options) { return QueueRun(options).run(); }

}  // namespace tigerfans::loadgen

// The waiting room's queue in Redis: each step is one EVALSHA of queue_script (EVAL when Redis
// forgot it) on the store's own pipelined connection. Faults from the connection are returned
// as they are; a reply the store cannot read is counted, logged and answered as a fault.
#include "sessions/redis/queue_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

#include "sessions/redis/scripts.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::sessions::redis {

namespace {

using queue::AdmittedEntry;
using queue::EntryStatus;
using queue::QueueCounts;

constexpr std::string_view queue_client_labels = "connection=\"queue\"";
// Redis reads a rank as a signed 64-bit integer: no queue is longer anyway.
constexpr std::uint64_t queue_count_max = std::numeric_limits<std::int64_t>::max();

// Commands are built in plain functions: GCC 12 miscompiles braced lists of strings inside
// coroutines ("array used as initializer").
Command queue_command(const std::string& sha, std::string_view step) {
    return {"EVALSHA",
            sha,
            "4",
            std::string(queue_waiting_key),
            std::string(queue_joined_key),
            std::string(queue_sequence_key),
            std::string(queue_admitted_key),
            std::string(step)};
}

template <typename... Arguments>
Command queue_call(const std::string& sha, std::string_view step, Arguments&&... arguments) {
    Command command = queue_command(sha, step);
    (command.emplace_back(std::forward<Arguments>(arguments)), ...);
    return command;
}

// Decimal text as Redis stores and prints integers.
template <typename Integer>
std::optional<Integer> decimal(std::string_view text) {
    Integer value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<std::uint64_t> stored_key(const Reply& reply) {
    if (reply.kind != Reply::Kind::string) return std::nullopt;
    const std::optional<std::uint64_t> key = decimal<std::uint64_t>(reply.text);
    if (!key || *key > queue::key_max) return std::nullopt;
    return key;
}

// A status reply's seven fields (see queue_script); nullopt when they do not make an entry.
std::optional<EntryStatus> read_status(const std::vector<Reply>& fields) {
    if (fields.size() != 7) return std::nullopt;
    for (std::size_t i = 0; i < 3; i++) {
        if (fields[i].kind != Reply::Kind::string) return std::nullopt;
    }
    EntryStatus status;
    const std::optional<std::uint64_t> key = stored_key(fields[0]);
    const std::optional<std::int64_t> joined = decimal<std::int64_t>(fields[1].text);
    if (!key || !joined) return std::nullopt;
    status.key = *key;
    status.joined_at_us = *joined;
    if (fields[2].text == "waiting") {
        const std::optional<std::int64_t> rank = fields[6].as_integer();
        if (!rank || *rank < 0) return std::nullopt;
        status.state = queue::EntryState::waiting;
        status.ahead = static_cast<std::uint64_t>(*rank);
        return status;
    }
    if (fields[2].text != "admitted") return std::nullopt;
    for (std::size_t i = 3; i < 6; i++) {
        if (fields[i].kind != Reply::Kind::string) return std::nullopt;
    }
    const std::optional<std::uint64_t> seq = decimal<std::uint64_t>(fields[3].text);
    const std::optional<std::int64_t> at = decimal<std::int64_t>(fields[4].text);
    const std::optional<std::uint32_t> used = decimal<std::uint32_t>(fields[5].text);
    if (!seq || !at || !used) return std::nullopt;
    status.state = queue::EntryState::admitted;
    status.admitted_seq = *seq;
    status.admitted_at_us = *at;
    status.tickets_used = *used;
    return status;
}

// An admit reply: {id, seq, id, seq, ...}.
std::optional<std::vector<AdmittedEntry>> read_admitted(Reply& reply) {
    if (reply.kind != Reply::Kind::array || reply.elements.size() % 2 != 0) return std::nullopt;
    std::vector<AdmittedEntry> admitted;
    admitted.reserve(reply.elements.size() / 2);
    for (std::size_t i = 0; i < reply.elements.size(); i += 2) {
        Reply& id = reply.elements[i];
        const std::optional<std::int64_t> seq = reply.elements[i + 1].as_integer();
        if (id.kind != Reply::Kind::string || !seq || *seq < 1) return std::nullopt;
        admitted.push_back({std::move(id.text), static_cast<std::uint64_t>(*seq)});
    }
    return admitted;
}

std::optional<QueueCounts> read_counts(const Reply& reply) {
    if (reply.kind != Reply::Kind::array || reply.elements.size() != 3) return std::nullopt;
    std::uint64_t values[3] = {};
    for (std::size_t i = 0; i < 3; i++) {
        const std::optional<std::int64_t> value = reply.elements[i].as_integer();
        if (!value || *value < 0) return std::nullopt;
        values[i] = static_cast<std::uint64_t>(*value);
    }
    return QueueCounts{values[0], values[1], values[2]};
}

// A lead reply: {1 or 0, paused ("0", "1" or ""), per_second (decimal or "")}; nullopt when
// the lease's answer itself is unreadable. A stored setting this server cannot use (edited by
// hand) is left unset and logged: it must not keep every process from admitting.
std::optional<queue::AdmissionLease> read_lease(const Reply& reply) {
    if (reply.kind != Reply::Kind::array || reply.elements.size() != 3) return std::nullopt;
    const std::optional<std::int64_t> leading = reply.elements[0].as_integer();
    if (!leading || *leading < 0 || *leading > 1) return std::nullopt;
    queue::AdmissionLease lease;
    lease.leading = *leading == 1;
    const Reply& paused = reply.elements[1];
    const Reply& rate = reply.elements[2];
    const bool paused_text = paused.kind == Reply::Kind::string;
    if (paused_text && (paused.text == "0" || paused.text == "1")) {
        lease.settings.paused = paused.text == "1";
    } else if (!paused_text || !paused.text.empty()) {
        spdlog::warn("waiting room: q:settings holds an unusable paused value; ignored");
    }
    const bool rate_text = rate.kind == Reply::Kind::string;
    const std::optional<std::uint32_t> per_second =
        rate_text ? decimal<std::uint32_t>(rate.text) : std::nullopt;
    if (per_second && *per_second >= 1) {
        // A rate above today's most (an earlier release allowed more) runs at the most.
        lease.settings.per_second = std::min(*per_second, limits::admit_per_second_max);
    } else if (!rate_text || !rate.text.empty()) {
        spdlog::warn("waiting room: q:settings holds an unusable per_second value; ignored");
    }
    return lease;
}

ClientOptions labelled(ClientOptions options) {
    options.metric_labels = with_labels(queue_client_labels, options.metric_labels);
    return options;
}

class RedisQueueStore final : public queue::QueueStore {
public:
    RedisQueueStore(asio::any_io_executor loop, Endpoint endpoint, ClientOptions options,
                    metrics::Registry& registry)
        : client_(std::move(loop), std::move(endpoint), labelled(options), registry),
          faults_(registry, labelled(options).metric_labels),
          sha_(script_sha1(queue_script)) {}

    std::string_view backend_name() const override { return "Redis"; }

    asio::awaitable<Status> start() override;
    asio::awaitable<Result<std::uint64_t>> join(std::string_view entry_id, queue::Phase phase,
                                                std::uint64_t draw_key,
                                                std::int64_t now_us) override;
    asio::awaitable<Result<std::optional<EntryStatus>>> status(std::string_view entry_id) override;
    asio::awaitable<Result<std::vector<AdmittedEntry>>> admit(std::uint64_t count,
                                                              std::int64_t now_us,
                                                              std::uint32_t keep_s) override;
    asio::awaitable<Result<bool>> use_ticket(std::string_view entry_id,
                                             std::uint32_t tickets_max) override;
    asio::awaitable<Status> return_ticket(std::string_view entry_id) override;
    asio::awaitable<Result<QueueCounts>> counts() override;
    asio::awaitable<Result<queue::AdmissionLease>> lead(std::string_view owner, std::int64_t now_us,
                                                        std::int64_t until_us) override;
    asio::awaitable<Status> set_settings(queue::AdmissionSettings changed) override;
    asio::awaitable<bool> healthy() override { co_return client_.connected(); }
    asio::awaitable<void> stop() override { co_await client_.stop(); }

private:
    asio::awaitable<Result<Reply>> run(Command call) {
        return run_script(client_, std::move(call), queue_script);
    }

    Client client_;
    ReplyFaults faults_;
    const std::string sha_;
    bool started_ = false;
};

// Connects (the client keeps reconnecting by itself if this first attempt fails) and loads the
// script. Each result is named before it is used: GCC 12 builds a frame without `this` for
// `co_return co_await load_script(...)` here (the first resume crashes).
asio::awaitable<Status> RedisQueueStore::start() {
    if (!started_) client_.start();
    started_ = true;
    const bool connected = co_await client_.wait_for_attempt();
    if (!connected) co_return Fault::unavailable;
    Status loaded = co_await load_script(client_, faults_, queue_script, sha_);
    co_return loaded;
}

asio::awaitable<Result<std::uint64_t>> RedisQueueStore::join(std::string_view entry_id,
                                                             queue::Phase phase,
                                                             std::uint64_t draw_key,
                                                             std::int64_t now_us) {
    TF_ASSERT(!entry_id.empty());
    TF_ASSERT(phase != queue::Phase::not_open);
    TF_ASSERT(phase == queue::Phase::sale || draw_key <= queue::key_value_max);
    const bool sale = phase == queue::Phase::sale;
    const std::uint64_t base = sale ? queue::sale_band_bit : draw_key;
    Command call = queue_call(sha_, "join", std::string(entry_id), std::string(phase_name(phase)),
                              std::to_string(base), std::to_string(now_us));
    Result<Reply> answer = co_await run(std::move(call));
    if (!answer) co_return answer.fault();
    const std::optional<std::uint64_t> key = stored_key(*answer);
    if (!key) co_return faults_.unexpected("queue join", *answer);
    co_return *key;
}

asio::awaitable<Result<std::optional<EntryStatus>>> RedisQueueStore::status(
    std::string_view entry_id) {
    Result<Reply> answer = co_await run(queue_call(sha_, "status", std::string(entry_id)));
    if (!answer) co_return answer.fault();
    if (answer->kind != Reply::Kind::array) co_return faults_.unexpected("queue status", *answer);
    if (answer->elements.empty()) co_return std::optional<EntryStatus>();
    std::optional<EntryStatus> status = read_status(answer->elements);
    if (!status) co_return faults_.unexpected("queue status", "a malformed entry hash");
    co_return status;
}

asio::awaitable<Result<std::vector<AdmittedEntry>>> RedisQueueStore::admit(std::uint64_t count,
                                                                           std::int64_t now_us,
                                                                           std::uint32_t keep_s) {
    TF_ASSERT(keep_s > 0);
    if (count == 0) co_return std::vector<AdmittedEntry>();
    const std::uint64_t last_rank = std::min(count, queue_count_max) - 1;
    Command call = queue_call(sha_, "admit", std::to_string(last_rank), std::to_string(now_us),
                              std::to_string(keep_s));
    Result<Reply> answer = co_await run(std::move(call));
    if (!answer) co_return answer.fault();
    std::optional<std::vector<AdmittedEntry>> admitted = read_admitted(*answer);
    if (!admitted) co_return faults_.unexpected("queue admit", *answer);
    co_return std::move(*admitted);
}

asio::awaitable<Result<bool>> RedisQueueStore::use_ticket(std::string_view entry_id,
                                                          std::uint32_t tickets_max) {
    Command call = queue_call(sha_, "use", std::string(entry_id), std::to_string(tickets_max));
    Result<Reply> answer = co_await run(std::move(call));
    if (!answer) co_return answer.fault();
    const std::optional<std::int64_t> counted = answer->as_integer();
    if (!counted || *counted < 0 || *counted > 1)
        co_return faults_.unexpected("use ticket", *answer);
    const bool used = *counted == 1;
    co_return used;
}

asio::awaitable<Status> RedisQueueStore::return_ticket(std::string_view entry_id) {
    Result<Reply> answer = co_await run(queue_call(sha_, "return", std::string(entry_id)));
    if (!answer) co_return answer.fault();
    const std::optional<std::int64_t> given = answer->as_integer();
    if (!given || *given < 0 || *given > 1) co_return faults_.unexpected("return ticket", *answer);
    co_return done();
}

asio::awaitable<Result<QueueCounts>> RedisQueueStore::counts() {
    Result<Reply> answer = co_await run(queue_command(sha_, "counts"));
    if (!answer) co_return answer.fault();
    const std::optional<QueueCounts> counts = read_counts(*answer);
    if (!counts) co_return faults_.unexpected("queue counts", *answer);
    co_return *counts;
}

asio::awaitable<Result<queue::AdmissionLease>> RedisQueueStore::lead(std::string_view owner,
                                                                     std::int64_t now_us,
                                                                     std::int64_t until_us) {
    TF_ASSERT(!owner.empty());
    TF_ASSERT(until_us > now_us);
    Command call = queue_call(sha_, "lead", std::string(owner), std::to_string(now_us),
                              std::to_string(until_us));
    Result<Reply> answer = co_await run(std::move(call));
    if (!answer) co_return answer.fault();
    const std::optional<queue::AdmissionLease> lease = read_lease(*answer);
    if (!lease) co_return faults_.unexpected("queue lead", *answer);
    co_return *lease;
}

asio::awaitable<Status> RedisQueueStore::set_settings(queue::AdmissionSettings changed) {
    TF_ASSERT(!changed.per_second || *changed.per_second > 0);
    const std::string paused = changed.paused ? (*changed.paused ? "1" : "0") : "";
    const std::string rate = changed.per_second ? std::to_string(*changed.per_second) : "";
    Command call = queue_call(sha_, "settings", paused, rate);
    Result<Reply> answer = co_await run(std::move(call));
    if (!answer) co_return answer.fault();
    if (answer->as_integer() != std::optional<std::int64_t>(1))
        co_return faults_.unexpected("queue settings", *answer);
    co_return done();
}

}  // namespace

std::unique_ptr<queue::QueueStore> make_queue_store(asio::any_io_executor loop, Endpoint endpoint,
                                                    ClientOptions options,
                                                    metrics::Registry& registry) {
    return std::make_unique<RedisQueueStore>(std::move(loop), std::move(endpoint),
                                             std::move(options), registry);
}

}  // namespace tigerfans::sessions::redis

namespace tigerfans::sessions {

// REDIS_URL is checked here, at start-up: an invalid one stops the server with the reason.
std::unique_ptr<queue::QueueStore> make_redis_queue_store(boost::asio::any_io_executor loop,
                                                          std::string redis_url,
                                                          metrics::Registry& registry) {
    redis::ParsedUrl parsed = redis::parse_url(redis_url);
    if (!parsed.endpoint) throw std::invalid_argument(parsed.error);
    return redis::make_queue_store(std::move(loop), std::move(*parsed.endpoint), {}, registry);
}

}  // namespace tigerfans::sessions

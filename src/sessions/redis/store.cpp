// Payment sessions, the webhook gate and checkout's idempotency keys in Redis (levels 2 and 3).
// Every operation is one round trip on the shared pipelined connection: saving is a MULTI/EXEC
// transaction, removing a plain pipeline (see remove()), the gate, the keys and the goodie's
// correction are Lua scripts called by EVALSHA (EVAL when Redis forgot them, e.g. after a restart).
// The gate's two most frequent steps skip the script: taking a free gate (a conditional SET, on
// Redis 7.0 or later) and the paid done mark (a plain SET, in one transaction with the session's
// removal); a take that finds the gate held asks the script, a second round trip. Only recent()
// needs more: the index, then the sessions, then (rarely) a cleanup of index entries whose session
// expired. Faults from the connection are returned as they are; the server above turns them into
// 503.

#include "sessions/redis/store.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "sessions/redis/codec.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::sessions::redis {

namespace {

constexpr std::int64_t microseconds_per_second = 1'000'000;

// Commands are built in plain functions: GCC 12 miscompiles braced lists of strings inside
// coroutines ("array used as initializer").

Command session_hash_command(const PaymentSession& session) {
    Command command = {"HSET", session_key(session.psid)};
    for (std::string& part : encode_session(session)) command.push_back(std::move(part));
    return command;
}

// The pending index would otherwise keep every abandoned checkout forever. An entry created a
// full TTL before this session belongs to a session that has expired (TTLs are uniform), so each
// save trims those in the same transaction.
Command pending_trim_command(const PaymentSession& session, std::uint32_t ttl_s) {
    const std::int64_t cutoff_us =
        session.created_at_us - static_cast<std::int64_t>(ttl_s) * microseconds_per_second;
    return {"ZREMRANGEBYSCORE", std::string(pending_index_key), "-inf",
            "(" + std::to_string(cutoff_us)};
}

std::vector<Command> save_commands(const PaymentSession& session, std::uint32_t ttl_s) {
    std::vector<Command> commands;
    commands.push_back(session_hash_command(session));
    commands.push_back({"EXPIRE", session_key(session.psid), std::to_string(ttl_s)});
    commands.push_back({"ZADD", std::string(pending_index_key),
                        std::to_string(session.created_at_us), session.psid});
    commands.push_back(pending_trim_command(session, ttl_s));
    return commands;
}

std::vector<Command> remove_commands(std::string_view psid) {
    std::vector<Command> commands;
    commands.push_back({"DEL", session_key(psid)});
    commands.push_back({"ZREM", std::string(pending_index_key), std::string(psid)});
    return commands;
}

Command find_command(std::string_view psid) { return {"HGETALL", session_key(psid)}; }

Command goodie_command(const std::string& sha, std::string_view psid, bool goodie_held) {
    return {"EVALSHA",
            sha,
            "1",
            session_key(psid),
            std::string(goodie_held_field),
            std::string(goodie_held_value(goodie_held))};
}

Command unlist_command(std::string_view psid) {
    return {"ZREM", std::string(pending_index_key), std::string(psid)};
}

struct GateCall {
    std::string_view operation;  // take, release or finish
    std::string_view psid;
    std::string_view argument;   // The lease token, or the order status for finish.
    std::uint64_t duration = 0;  // The lease in ms, or the done mark's lifetime in s.
    bool payment = false;
};

constexpr std::uint64_t session_keep_ms = std::uint64_t{limits::webhook_done_ttl_s} * 1000;

Command gate_command(const std::string& sha, const GateCall& call) {
    return {"EVALSHA",
            sha,
            "2",
            gate_key(call.psid),
            session_key(call.psid),
            std::string(call.operation),
            std::string(call.argument),
            std::to_string(call.duration),
            call.payment ? "1" : "0",
            std::to_string(session_keep_ms)};
}

// The gate script's take without the script, for a gate that holds nothing (almost every
// delivery): keep the session as the script does (GT never shortens a longer life and leaves a
// session without expiry, or a missing one, alone), then take the lease only if the key is free.
// Unlike the script, the keep also runs for a delivery that finds the gate busy or done: a
// replay of a finished order's event keeps a session that still exists (an unpaid order's,
// which a payment may still follow) for another 24 h. The keep needs Redis 7.0 (GT).
std::vector<Command> plain_take_commands(std::string_view psid, std::string_view token,
                                         std::uint32_t lease_ms) {
    std::vector<Command> commands;
    commands.push_back({"PEXPIRE", session_key(psid), std::to_string(session_keep_ms), "GT"});
    commands.push_back(
        {"SET", gate_key(psid), gate_lease_mark(token), "NX", "PX", std::to_string(lease_ms)});
    return commands;
}

// The gate's done mark for a paid order, written as the gate script's finish writes it, and the
// session's removal.
std::vector<Command> paid_finish_commands(std::string_view psid, std::string_view order_status) {
    std::vector<Command> commands = remove_commands(psid);
    commands.insert(commands.begin(), Command{"SET", gate_key(psid), gate_done_mark(order_status),
                                              "EX", std::to_string(limits::webhook_done_ttl_s)});
    return commands;
}

Command key_command(const std::string& sha, std::string_view operation, const KeyClaim& claim) {
    return {"EVALSHA",
            sha,
            "1",
            checkout_key(claim.key_id),
            std::string(operation),
            key_lease_record(claim)};
}

struct SlotCall {
    std::string_view operation;  // claim, paid or free
    std::string_view email;
    std::string_view order_id;
    std::uint64_t counts_ms = 0;  // claim only
    std::uint32_t limit = 0;      // claim only
};

Command email_slots_command(const std::string& sha, const SlotCall& call) {
    return {"EVALSHA",
            sha,
            "1",
            email_slots_key(call.email),
            std::string(call.operation),
            std::string(call.order_id),
            std::to_string(call.counts_ms),
            std::to_string(call.limit)};
}

// The index size and, unless `limit` is 0, its newest `limit` psids.
std::vector<Command> listing_commands(std::size_t limit) {
    const std::string index(pending_index_key);
    std::vector<Command> commands;
    commands.push_back({"ZCARD", index});
    if (limit > 0) commands.push_back({"ZREVRANGE", index, "0", std::to_string(limit - 1)});
    return commands;
}

std::vector<Command> load_commands(const std::vector<std::string>& psids) {
    std::vector<Command> commands;
    commands.reserve(psids.size());
    for (const std::string& psid : psids) commands.push_back(find_command(psid));
    return commands;
}

Command forget_command(const std::vector<std::string>& psids) {
    Command command = {"ZREM", std::string(pending_index_key)};
    command.insert(command.end(), psids.begin(), psids.end());
    return command;
}

std::vector<Command> in_transaction(std::vector<Command> commands) {
    commands.insert(commands.begin(), Command{"MULTI"});
    commands.push_back(Command{"EXEC"});
    return commands;
}

struct Listing {
    std::uint64_t total = 0;
    std::vector<std::string> psids;  // Newest first.
};

class RedisSessionStore final : public SessionStore {
public:
    RedisSessionStore(asio::any_io_executor loop, Endpoint endpoint, ClientOptions options,
                      metrics::Registry& registry)
        : client_(std::move(loop), std::move(endpoint), options, registry),
          faults_(registry, options.metric_labels),
          gate_sha_(script_sha1(gate_script)),
          key_sha_(script_sha1(checkout_key_script)),
          slots_sha_(script_sha1(email_slots_script)),
          field_sha_(script_sha1(session_field_script)) {}

    ~RedisSessionStore() override = default;

    std::string_view backend_name() const override { return "Redis"; }

    asio::awaitable<Status> start() override;
    asio::awaitable<Status> save(const PaymentSession& session, std::uint32_t ttl_s) override;
    asio::awaitable<Status> correct_goodie(std::string_view psid, bool goodie_held) override;
    asio::awaitable<Result<std::optional<PaymentSession>>> find(std::string_view psid) override;
    asio::awaitable<Result<GateAnswer>> take_lease(std::string_view psid, std::string_view token,
                                                   std::uint32_t lease_ms, bool payment) override;
    asio::awaitable<Status> finish_gate(std::string_view psid,
                                        std::string_view order_status) override;
    asio::awaitable<Status> release_lease(std::string_view psid, std::string_view token) override;
    asio::awaitable<Result<KeyAnswer>> claim_key(const KeyClaim& claim,
                                                 std::uint32_t lease_ms) override;
    asio::awaitable<Status> finish_key(const KeyClaim& claim, unsigned status,
                                       std::string_view body, std::uint32_t ttl_s) override;
    asio::awaitable<Status> release_key(const KeyClaim& claim) override;
    asio::awaitable<Status> remove(std::string_view psid) override;
    asio::awaitable<Result<PendingList>> recent(std::size_t limit) override;
    asio::awaitable<Result<bool>> claim_email_slot(std::string_view email,
                                                   std::string_view order_id,
                                                   std::uint64_t counts_ms,
                                                   std::uint32_t limit) override;
    asio::awaitable<Status> settle_email_slot(std::string_view email, std::string_view order_id,
                                              bool paid) override;
    asio::awaitable<bool> healthy() override { co_return client_.connected(); }
    asio::awaitable<void> stop() override { co_await client_.stop(); }

private:
    asio::awaitable<Result<Reply>> transaction(std::string_view operation,
                                               std::vector<Command> commands);
    asio::awaitable<Result<Reply>> run_gate(Command call) {
        return run_script(std::move(call), gate_script);
    }
    asio::awaitable<Result<Reply>> run_script(Command call, std::string_view script) {
        return redis::run_script(client_, std::move(call), script);
    }
    asio::awaitable<Status> load_script(std::string_view script, const std::string& sha) {
        return redis::load_script(client_, faults_, script, sha);
    }
    asio::awaitable<Result<Listing>> list_pending(std::size_t limit);
    asio::awaitable<Result<std::int64_t>> forget(const std::vector<std::string>& psids);
    Result<std::optional<PaymentSession>> read_session(Reply& hash);
    Fault unexpected(std::string_view operation, const Reply& reply) {
        return faults_.unexpected(operation, reply);
    }
    Fault unexpected(std::string_view operation, std::string_view detail) {
        return faults_.unexpected(operation, detail);
    }

    Client client_;
    ReplyFaults faults_;
    const std::string gate_sha_;
    const std::string key_sha_;
    const std::string slots_sha_;
    const std::string field_sha_;
    bool started_ = false;
    // Free gates are taken by plain commands until Redis refuses them (a server before 7.0):
    // from then on by the script alone.
    bool plain_take_ = true;
};

// Connects (the client keeps reconnecting by itself if this first attempt fails) and loads the
// scripts, checking that Redis names them as we do.
asio::awaitable<Status> RedisSessionStore::start() {
    if (!started_) client_.start();
    started_ = true;
    if (!co_await client_.wait_for_attempt()) co_return Fault::unavailable;
    Status gate_loaded = co_await load_script(gate_script, gate_sha_);
    if (!gate_loaded) co_return gate_loaded;
    Status key_loaded = co_await load_script(checkout_key_script, key_sha_);
    if (!key_loaded) co_return key_loaded;
    Status slots_loaded = co_await load_script(email_slots_script, slots_sha_);
    if (!slots_loaded) co_return slots_loaded;
    co_return co_await load_script(session_field_script, field_sha_);
}

asio::awaitable<Status> RedisSessionStore::save(const PaymentSession& session,
                                                std::uint32_t ttl_s) {
    TF_ASSERT(!session.psid.empty());
    TF_ASSERT(ttl_s > 0);
    Result<Reply> executed = co_await transaction("save", save_commands(session, ttl_s));
    if (!executed) co_return executed.fault();
    co_return done();
}

asio::awaitable<Status> RedisSessionStore::correct_goodie(std::string_view psid, bool goodie_held) {
    Command call = goodie_command(field_sha_, psid, goodie_held);
    Result<Reply> answer = co_await run_script(std::move(call), session_field_script);
    if (!answer) co_return answer.fault();
    const std::optional<std::int64_t> set = answer->as_integer();
    if (!set || *set < 0 || *set > 1) co_return unexpected("correct goodie", *answer);
    co_return done();
}

asio::awaitable<Result<std::optional<PaymentSession>>> RedisSessionStore::find(
    std::string_view psid) {
    Result<Reply> hash = co_await client_.command(find_command(psid));
    if (!hash) co_return hash.fault();
    co_return read_session(*hash);
}

asio::awaitable<Result<GateAnswer>> RedisSessionStore::take_lease(std::string_view psid,
                                                                  std::string_view token,
                                                                  std::uint32_t lease_ms,
                                                                  bool payment) {
    TF_ASSERT(!token.empty());
    TF_ASSERT(lease_ms > 0);
    if (plain_take_) {
        std::vector<Command> commands = plain_take_commands(psid, token, lease_ms);
        Result<std::vector<Reply>> replies = co_await client_.pipeline(std::move(commands));
        if (!replies) co_return replies.fault();
        const Reply& kept = (*replies)[0];
        const Reply& taken = (*replies)[1];
        if (kept.is_error() && fault_of(kept) != Fault::internal) {
            // Refused for now (loading its data, a read-only replica, out of memory, unable to
            // persist): the plain take stays, this delivery is answered "later".
            if (taken.is_status("OK")) {
                Status released = co_await release_lease(psid, token);
                if (!released) co_return released.fault();
            }
            co_return unexpected("gate keep", kept);
        }
        if (kept.is_error()) {
            // This Redis cannot keep the session that way: give back a lease the SET took and
            // leave every take to the script, which keeps the session itself.
            if (plain_take_) {
                spdlog::warn(
                    "redis: PEXPIRE ... GT refused ({}): the webhook gate takes its leases by "
                    "script from now on (Redis 7.0 or later needs no script)",
                    kept.text);
            }
            plain_take_ = false;
            if (taken.is_status("OK")) {
                Status released = co_await release_lease(psid, token);
                if (!released) co_return released.fault();
            }
        } else if (taken.is_status("OK")) {
            if (kept.kind != Reply::Kind::integer) co_return unexpected("gate keep", kept);
            GateAnswer leased;
            leased.state = GateState::leased;
            co_return leased;
        } else if (taken.kind != Reply::Kind::nil) {
            co_return unexpected("gate", taken);
        }
        // Something holds the gate: the script reads it and decides, in one atomic step.
    }
    const GateCall call{"take", psid, token, lease_ms, payment};
    Result<Reply> answer = co_await run_gate(gate_command(gate_sha_, call));
    if (!answer) co_return answer.fault();
    std::optional<GateAnswer> gate = decode_gate_answer(*answer);
    if (!gate) co_return unexpected("gate", *answer);
    co_return std::move(*gate);
}

// A paid status replaces whatever the gate holds, as the script's finish would: a plain SET,
// without the script's cost in Redis, in one transaction with the session's removal, so the
// session never goes without the mark. Only an unpaid status needs the script's check that no
// paid mark is there; its session leaves the index in the same round trip (whatever the script
// answers: an unlisted session is still found, and a refused mark means a payment won).
asio::awaitable<Status> RedisSessionStore::finish_gate(std::string_view psid,
                                                       std::string_view order_status) {
    TF_ASSERT(!order_status.empty());
    if (!is_unpaid_mark(order_status)) {
        Result<Reply> executed =
            co_await transaction("finish gate", paid_finish_commands(psid, order_status));
        if (!executed) co_return executed.fault();
        if (!executed->elements.front().is_status("OK")) {
            co_return unexpected("finish gate", executed->elements.front());
        }
        co_return done();
    }
    const GateCall call{"finish", psid, order_status, limits::webhook_done_ttl_s, false};
    std::vector<Command> commands;
    commands.push_back(gate_command(gate_sha_, call));
    commands.push_back(unlist_command(psid));
    Result<std::vector<Reply>> replies = co_await client_.pipeline(std::move(commands));
    if (!replies) co_return replies.fault();
    if (!replies->back().as_integer()) co_return unexpected("unlist", replies->back());
    Reply& finished = replies->front();
    if (finished.error_code() == "NOSCRIPT") {
        Command evaluated = gate_command(gate_sha_, call);
        evaluated[0] = "EVAL";
        evaluated[1] = std::string(gate_script);
        Result<Reply> retried = co_await client_.command(std::move(evaluated));
        if (!retried) co_return retried.fault();
        finished = std::move(*retried);
    }
    if (!finished.as_integer()) co_return unexpected("finish gate", finished);
    co_return done();
}

asio::awaitable<Status> RedisSessionStore::release_lease(std::string_view psid,
                                                         std::string_view token) {
    TF_ASSERT(!token.empty());
    const GateCall call{"release", psid, token, 0, false};
    Result<Reply> deleted = co_await run_gate(gate_command(gate_sha_, call));
    if (!deleted) co_return deleted.fault();
    if (!deleted->as_integer()) co_return unexpected("release lease", *deleted);
    co_return done();
}

// "" when this claim took the key, else the live record.
asio::awaitable<Result<KeyAnswer>> RedisSessionStore::claim_key(const KeyClaim& claim,
                                                                std::uint32_t lease_ms) {
    TF_ASSERT(lease_ms > 0);
    Command call = key_command(key_sha_, "claim", claim);
    call.push_back(std::to_string(lease_ms));
    Result<Reply> answer = co_await run_script(std::move(call), checkout_key_script);
    if (!answer) co_return answer.fault();
    if (answer->kind != Reply::Kind::string) co_return unexpected("claim key", *answer);
    if (answer->text.empty()) {
        KeyAnswer claimed;
        claimed.state = KeyState::claimed;
        co_return claimed;
    }
    std::optional<KeyAnswer> record = decode_key_record(answer->text);
    if (!record) co_return unexpected("claim key", "a malformed key record");
    co_return std::move(*record);
}

asio::awaitable<Status> RedisSessionStore::finish_key(const KeyClaim& claim, unsigned status,
                                                      std::string_view body, std::uint32_t ttl_s) {
    TF_ASSERT(ttl_s > 0);
    Command call = key_command(key_sha_, "finish", claim);
    call.push_back(key_done_record(claim, status, body));
    call.push_back(std::to_string(ttl_s));
    Result<Reply> finished = co_await run_script(std::move(call), checkout_key_script);
    if (!finished) co_return finished.fault();
    if (!finished->as_integer()) co_return unexpected("finish key", *finished);
    co_return done();
}

asio::awaitable<Status> RedisSessionStore::release_key(const KeyClaim& claim) {
    Command call = key_command(key_sha_, "release", claim);
    Result<Reply> released = co_await run_script(std::move(call), checkout_key_script);
    if (!released) co_return released.fault();
    if (!released->as_integer()) co_return unexpected("release key", *released);
    co_return done();
}

// The hash and the index entry go in one round trip but not in one transaction, which would
// cost Redis two more commands for every checkout undone. A reader in between, or a removal cut
// short after the DEL, meets an index entry without its session: recent() skips it and drops
// it when it is among the newest, and the save that comes one TTL later trims it, as after an
// expiry. Until then it only counts in the pending total.
asio::awaitable<Status> RedisSessionStore::remove(std::string_view psid) {
    Result<std::vector<Reply>> replies = co_await client_.pipeline(remove_commands(psid));
    if (!replies) co_return replies.fault();
    if (const Reply* refused = first_error(*replies)) co_return unexpected("remove", *refused);
    co_return done();
}

asio::awaitable<Result<bool>> RedisSessionStore::claim_email_slot(std::string_view email,
                                                                  std::string_view order_id,
                                                                  std::uint64_t counts_ms,
                                                                  std::uint32_t limit) {
    TF_ASSERT(!email.empty() && limit > 0);
    const SlotCall call{"claim", email, order_id, counts_ms, limit};
    Result<Reply> answer =
        co_await run_script(email_slots_command(slots_sha_, call), email_slots_script);
    if (!answer) co_return answer.fault();
    const std::optional<std::int64_t> taken = answer->as_integer();
    if (!taken || *taken < 0 || *taken > 1) co_return unexpected("claim email slot", *answer);
    const bool claimed = *taken == 1;
    co_return claimed;
}

asio::awaitable<Status> RedisSessionStore::settle_email_slot(std::string_view email,
                                                             std::string_view order_id, bool paid) {
    TF_ASSERT(!email.empty());
    const SlotCall call{paid ? "paid" : "free", email, order_id};
    Result<Reply> answer =
        co_await run_script(email_slots_command(slots_sha_, call), email_slots_script);
    if (!answer) co_return answer.fault();
    if (answer->as_integer() != 1) co_return unexpected("settle email slot", *answer);
    co_return done();
}

asio::awaitable<Result<PendingList>> RedisSessionStore::recent(std::size_t limit) {
    TF_ASSERT(limit <= limits::pending_sessions_max);
    Result<Listing> listing = co_await list_pending(limit);
    if (!listing) co_return listing.fault();
    PendingList pending{listing->total, {}};
    if (listing->psids.empty()) co_return pending;
    const std::vector<std::string>& psids = listing->psids;
    Result<std::vector<Reply>> hashes = co_await client_.pipeline(load_commands(psids));
    if (!hashes) co_return hashes.fault();
    std::vector<std::string> expired;
    for (std::size_t i = 0; i < hashes->size(); i++) {
        Result<std::optional<PaymentSession>> session = read_session((*hashes)[i]);
        if (!session) co_return session.fault();
        if (!*session) expired.push_back(psids[i]);
        if (*session) pending.sessions.push_back(std::move(**session));
    }
    if (expired.empty()) co_return pending;
    Result<std::int64_t> forgotten = co_await forget(expired);
    if (!forgotten) co_return forgotten.fault();
    pending.total -= std::min(pending.total, static_cast<std::uint64_t>(*forgotten));
    co_return pending;
}

// The index size and its newest `limit` psids, in one round trip.
asio::awaitable<Result<Listing>> RedisSessionStore::list_pending(std::size_t limit) {
    Result<std::vector<Reply>> replies = co_await client_.pipeline(listing_commands(limit));
    if (!replies) co_return replies.fault();
    const std::optional<std::int64_t> total = replies->front().as_integer();
    if (!total || *total < 0) co_return unexpected("ZCARD", replies->front());
    Listing listing{static_cast<std::uint64_t>(*total), {}};
    if (limit == 0) co_return listing;
    std::optional<std::vector<std::string>> psids = replies->back().take_strings();
    if (!psids) co_return unexpected("ZREVRANGE", replies->back());
    listing.psids = std::move(*psids);
    co_return listing;
}

// Drops index entries whose session expired; answers how many were still there.
asio::awaitable<Result<std::int64_t>> RedisSessionStore::forget(
    const std::vector<std::string>& psids) {
    Result<Reply> removed = co_await client_.command(forget_command(psids));
    if (!removed) co_return removed.fault();
    const std::optional<std::int64_t> count = removed->as_integer();
    if (!count) co_return unexpected("ZREM", *removed);
    co_return *count;
}

// Wraps the commands in MULTI/EXEC (one round trip, applied atomically) and answers EXEC's
// array, or a fault when Redis refused any of them.
asio::awaitable<Result<Reply>> RedisSessionStore::transaction(std::string_view operation,
                                                              std::vector<Command> commands) {
    const std::size_t count = commands.size();
    Result<std::vector<Reply>> replies =
        co_await client_.pipeline(in_transaction(std::move(commands)));
    if (!replies) co_return replies.fault();
    if (const Reply* refused = first_error(*replies)) co_return unexpected(operation, *refused);
    Reply& executed = replies->back();
    if (executed.kind != Reply::Kind::array || executed.elements.size() != count) {
        co_return unexpected(operation, executed);
    }
    if (const Reply* failed = first_error(executed.elements)) {
        co_return unexpected(operation, *failed);
    }
    co_return std::move(executed);
}

// An HGETALL answer (its strings are moved out): nullopt when the session does not exist.
Result<std::optional<PaymentSession>> RedisSessionStore::read_session(Reply& hash) {
    const std::optional<std::vector<std::string>> fields = hash.take_strings();
    if (!fields) return unexpected("HGETALL", hash);
    if (fields->empty()) return std::optional<PaymentSession>();
    std::optional<PaymentSession> session = decode_session(*fields);
    if (!session) return unexpected("HGETALL", "a malformed session hash");
    return session;
}

}  // namespace

std::unique_ptr<SessionStore> make_store(asio::any_io_executor loop, Endpoint endpoint,
                                         ClientOptions options, metrics::Registry& registry) {
    return std::make_unique<RedisSessionStore>(std::move(loop), std::move(endpoint), options,
                                               registry);
}

}  // namespace tigerfans::sessions::redis

namespace tigerfans::sessions {

// REDIS_URL is checked here, at start-up: an invalid one stops the server with the reason.
std::unique_ptr<SessionStore> make_redis_store(boost::asio::any_io_executor loop,
                                               std::string redis_url, metrics::Registry& registry) {
    redis::ParsedUrl parsed = redis::parse_url(redis_url);
    if (!parsed.endpoint) throw std::invalid_argument(parsed.error);
    return redis::make_store(std::move(loop), std::move(*parsed.endpoint), {}, registry);
}

}  // namespace tigerfans::sessions

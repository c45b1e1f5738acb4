// Where the waiting room keeps its queue: the entries waiting in their order, the entries
// admitted with their admission's number and time, and the tickets each admission has bought.
// Backends: Redis (sessions/redis/queue_store, levels 2 and 3: a sorted set and a hash per
// entry, every step one Lua script) and PostgreSQL (sessions/postgres/queue_store, level 1: one
// statement per step). Every step is atomic, so that a server restart, or several servers on
// one store, lose nobody's place and admit nobody twice.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tigerfans/core/result.hpp"
#include "tigerfans/queue/entry.hpp"
#include "tigerfans/queue/sale.hpp"

namespace tigerfans::queue {

namespace asio = boost::asio;

enum class EntryState : std::uint8_t {
    waiting,   // In the queue.
    admitted,  // Taken off the queue by an admission step.
};

struct EntryStatus {
    EntryState state = EntryState::waiting;
    std::uint64_t key = 0;            // Its place's key (entry.hpp).
    std::int64_t joined_at_us = 0;    // When it joined (the server's clock).
    std::uint64_t ahead = 0;          // Waiting: entries before it in the queue.
    std::uint64_t admitted_seq = 0;   // Admitted: it was the n-th admission (1, 2, ...).
    std::int64_t admitted_at_us = 0;  // Admitted: when.
    std::uint32_t tickets_used = 0;   // Admitted: tickets counted against its admission.
};

struct AdmittedEntry {
    std::string entry_id;
    std::uint64_t admitted_seq = 0;
};

// What an operator set through any server process (admin's pause and rate); unset until one did.
struct AdmissionSettings {
    std::optional<bool> paused;
    std::optional<std::uint32_t> per_second;
};

struct AdmissionLease {
    bool leading = false;  // Whether the caller holds the admission lease now.
    AdmissionSettings settings;
};

struct QueueCounts {
    std::uint64_t waiting = 0;   // Entries in the queue.
    std::uint64_t admitted = 0;  // Admissions so far (the last admitted_seq).
    std::uint64_t joined = 0;    // Joins so far.
};

class QueueStore {
public:
    virtual ~QueueStore() = default;

    virtual std::string_view backend_name() const = 0;  // "Redis" or "PostgreSQL"

    // Creates what the store needs (scripts, tables). Idempotent.
    virtual asio::awaitable<Status> start() = 0;

    // In one atomic step: adds the entry `entry_id` (new_entry_id()) at `now_us`. In the
    // pre-queue its key is `draw_key` (raffle_key of a fresh draw); once the sale is open the
    // store counts the join's sequence number and the key is arrival_key(sequence). Answers the
    // key. A second join with an id the store knows changes nothing and answers its key.
    virtual asio::awaitable<Result<std::uint64_t>> join(std::string_view entry_id, Phase phase,
                                                        std::uint64_t draw_key,
                                                        std::int64_t now_us) = 0;

    // The entry's state; nullopt for an id the store does not know (or no longer keeps).
    virtual asio::awaitable<Result<std::optional<EntryStatus>>> status(
        std::string_view entry_id) = 0;

    // In one atomic step: takes the first `count` entries off the queue (fewer when fewer
    // wait), numbers each admission in turn and stamps it `now_us`. An admitted entry is kept
    // for `keep_s` seconds more (the admission token's lifetime and a margin).
    virtual asio::awaitable<Result<std::vector<AdmittedEntry>>> admit(std::uint64_t count,
                                                                      std::int64_t now_us,
                                                                      std::uint32_t keep_s) = 0;

    // In one atomic step: counts one more ticket against the admitted entry's admission, when
    // fewer than `tickets_max` are counted; answers whether it was counted (false: used up, or
    // the entry is not admitted). Concurrent calls never count past `tickets_max`.
    virtual asio::awaitable<Result<bool>> use_ticket(std::string_view entry_id,
                                                     std::uint32_t tickets_max) = 0;

    // Gives back a ticket use_ticket counted, for a checkout that held nothing. Never below 0.
    virtual asio::awaitable<Status> return_ticket(std::string_view entry_id) = 0;

    virtual asio::awaitable<Result<QueueCounts>> counts() = 0;

    // In one atomic step: gives `owner` the admission lease until `until_us` when nobody holds
    // it, its holder's time ran out by `now_us`, or `owner` holds it already (a renewal), and
    // answers whether `owner` holds it, with the operator's settings. Only the holder admits,
    // so several server processes on one store admit at one rate; when it dies, another takes
    // over once its lease ends. Times are the callers' clocks, which must agree within a
    // fraction of the lease.
    virtual asio::awaitable<Result<AdmissionLease>> lead(std::string_view owner,
                                                         std::int64_t now_us,
                                                         std::int64_t until_us) = 0;

    // Stores the operator's settings that `changed` holds (an unset one keeps its stored
    // value, so a rate change on one process never undoes a pause made on another); every
    // process's next lead() answers them.
    virtual asio::awaitable<Status> set_settings(AdmissionSettings changed) = 0;

    virtual asio::awaitable<bool> healthy() = 0;

    // Finishes what is in flight, then closes connections. No call may follow.
    virtual asio::awaitable<void> stop() = 0;
};

}  // namespace tigerfans::queue

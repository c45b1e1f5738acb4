// The seats on TigerBeetle: accounts created and funded at start-up, holds as linked chains,
// states read back from the seat accounts' balances.
#include "accounting/tigerbeetle/seat_ledger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>

#include "accounting/tigerbeetle/model.hpp"
#include "accounting/tigerbeetle/seat_model.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::accounting::tb {

namespace {
namespace status = abi::create_transfer_status;

// More credits of the sold account than this since the last read of the seat states: read every
// seat instead (read_changes). Readers ask every few milliseconds while they come, so only a
// map left unread, or a rush of holds, goes past it.
constexpr std::size_t credits_per_read_max = 1'000;

std::vector<std::uint32_t> statuses_of(const std::vector<abi::CreateResult>& results) {
    std::vector<std::uint32_t> statuses;
    statuses.reserve(results.size());
    for (const abi::CreateResult& result : results) statuses.push_back(result.status);
    return statuses;
}
}  // namespace

TbSeatLedger::TbSeatLedger(asio::any_io_executor loop, const seating::Venue& venue,
                           PacketSubmitter& client, TransferBatcher& batcher,
                           SeatRequestMetrics metrics, std::uint32_t events_max)
    : venue_(venue),
      client_(client),
      scan_metrics_(metrics.account_transfers),
      batcher_(batcher),
      account_creator_(client, abi::Operation::create_accounts, events_max,
                       metrics.create_accounts),
      lookups_(client, abi::Operation::lookup_accounts, events_max, metrics.lookup_accounts),
      seat_lookups_(std::move(loop), lookups_.as_execute(), events_max,
                    limits::batcher_queue_items_max),
      events_max_(events_max),
      key_(seat_model::venue_key(venue)) {
    TF_ASSERT_GT(venue_.seat_count, 0u);
    TF_ASSERT_GT(events_max_, 0u);
}

asio::awaitable<Status> TbSeatLedger::start() {
    // A chain travels in one request: the request must hold the longest.
    if (events_max_ < limits::seats_per_order_max) {
        spdlog::error("TB_BATCH_EVENTS_MAX is {}: a hold of {} seats needs requests of at least {}",
                      events_max_, limits::seats_per_order_max, limits::seats_per_order_max);
        co_return Fault::unavailable;
    }
    Status created = co_await create_seat_accounts();
    if (!created) co_return created;
    co_return co_await fund_seats();
}

asio::awaitable<Status> TbSeatLedger::create_seat_accounts() {
    std::vector<abi::Account> accounts = seat_model::accounts(key_, venue_.seat_count);
    auto results = co_await account_creator_.execute(std::span<abi::Account>(accounts));
    if (!results) co_return results.fault();
    co_return check_results(std::span<const abi::Account>(accounts), *results,
                            model::is_account_ready, "seat account");
}

// Through the batcher, a request's worth at a time: the fundings share the queue with holds.
asio::awaitable<Status> TbSeatLedger::fund_seats() {
    const std::vector<abi::Transfer> fundings = seat_model::fundings(key_, venue_.seat_count);
    for (std::size_t first = 0; first < fundings.size(); first += events_max_) {
        const std::size_t count = std::min<std::size_t>(events_max_, fundings.size() - first);
        std::vector<abi::Transfer> part(
            fundings.begin() + static_cast<std::ptrdiff_t>(first),
            fundings.begin() + static_cast<std::ptrdiff_t>(first + count));
        auto results = co_await batcher_.submit(part);
        if (!results) co_return results.fault();
        Status funded = check_results(std::span<const abi::Transfer>(part), *results,
                                      model::is_funded, "seat funding");
        if (!funded) co_return funded;
    }
    co_return done();
}

// The accounts of `ids`, all of which must exist, in the order asked (a missing one is an
// internal fault: the executor wants a record per id).
asio::awaitable<Result<std::vector<abi::Account>>> TbSeatLedger::lookup_seats(
    std::vector<u128> ids) {
    if (stopped_) co_return Fault::shutting_down;
    auto found = co_await lookups_.execute(std::span<u128>(ids));
    if (!found) co_return found.fault();
    for (std::size_t i = 0; i < ids.size(); i++) {
        if ((*found)[i].id != ids[i]) co_return Fault::internal;  // Answers come in order.
    }
    co_return std::move(*found);
}

asio::awaitable<Result<seating::SeatStates>> TbSeatLedger::seat_states() {
    if (stopped_) co_return Fault::shutting_down;
    if (reading_states_) {
        // Another read is bringing the known states up to date: this one must not race it.
        auto read = co_await read_every_seat();
        if (!read) co_return read.fault();
        co_return std::move(read->states);
    }
    reading_states_ = true;
    Result<KnownStates> read = Fault::internal;
    try {
        if (known_) {
            read = co_await read_changes(*known_);
        } else {
            read = co_await read_every_seat();
        }
    } catch (...) {
        reading_states_ = false;
        known_.reset();
        throw;
    }
    reading_states_ = false;
    if (!read) {
        known_.reset();  // Whatever the failed read had learnt is lost: start over.
        co_return read.fault();
    }
    seating::SeatStates states = read->states;
    if (read->every_seat_funded) {
        known_ = std::move(*read);
    } else {
        known_.reset();  // A funding credits no sold account: only a whole read sees it.
    }
    co_return states;
}

// The newest credit is read first: a transfer that comes after it, even during the lookups, is
// read again by the next read.
asio::awaitable<Result<TbSeatLedger::KnownStates>> TbSeatLedger::read_every_seat() {
    auto newest =
        co_await newest_account_transfer(client_, scan_metrics_, seat_model::sold_account_id(key_),
                                         abi::account_filter_flags::credits);
    if (!newest) co_return newest.fault();
    std::vector<u128> ids(venue_.seat_count);
    for (SeatId seat = 0; seat < venue_.seat_count; seat++) {
        ids[seat] = seat_model::seat_account_id(key_, seat);
    }
    auto lookup = lookup_seats(std::move(ids));  // Apart from the co_await: GCC 12 (flows/).
    auto accounts = co_await std::move(lookup);
    if (!accounts) co_return accounts.fault();
    KnownStates read{seating::SeatStates(venue_.seat_count), *newest, true};
    for (SeatId seat = 0; seat < venue_.seat_count; seat++) {
        const abi::Account& account = (*accounts)[seat];
        read.states.set(seat, seat_model::state_of(account));
        if (account.credits_posted == 0) read.every_seat_funded = false;
    }
    co_return read;
}

// The seats that may have changed since `known`: those the sold account's later credits name
// (held, posted or voided since), and those held then (their holds may have expired since).
// Looked up after the credits are read, so the states are at least as new as the credits.
// A backlog (credits for more than half the seats or more than credits_per_read_max: the map
// unread for long, or a rush of holds) is not worth paging through, each credit a read of the
// cluster's own: every seat is read again instead, at the cost of one short page more.
asio::awaitable<Result<TbSeatLedger::KnownStates>> TbSeatLedger::read_changes(
    const KnownStates& known) {
    const std::size_t backlog_max =
        std::min<std::size_t>(venue_.seat_count / 2, credits_per_read_max);
    auto credits = co_await all_account_transfers(
        client_, scan_metrics_, seat_model::sold_account_id(key_),
        abi::account_filter_flags::credits, known.credits_until + 1, backlog_max);
    if (!credits) co_return credits.fault();
    if (credits->size() > backlog_max) {
        auto every = co_await read_every_seat();
        co_return every;
    }
    KnownStates read = known;
    if (!credits->empty()) read.credits_until = credits->back().timestamp;
    std::vector<bool> again(venue_.seat_count, false);
    for (const abi::Transfer& credit : *credits) {
        if (auto seat = seat_model::seat_of(key_, venue_.seat_count, credit)) again[*seat] = true;
    }
    std::vector<SeatId> seats;
    std::vector<u128> ids;
    for (SeatId seat = 0; seat < venue_.seat_count; seat++) {
        if (!again[seat] && known.states.get(seat) != seating::SeatState::held) continue;
        seats.push_back(seat);
        ids.push_back(seat_model::seat_account_id(key_, seat));
    }
    if (ids.empty()) co_return read;
    auto lookup = lookup_seats(std::move(ids));
    auto accounts = co_await std::move(lookup);
    if (!accounts) co_return accounts.fault();
    for (std::size_t i = 0; i < seats.size(); i++) {
        read.states.set(seats[i], seat_model::state_of((*accounts)[i]));
    }
    co_return read;
}

// Every hold, post and void of the venue credits its sold account: one paged read of its credits.
asio::awaitable<Result<std::vector<SeatHoldEntry>>> TbSeatLedger::hold_entries() {
    if (stopped_) co_return Fault::shutting_down;
    auto transfers =
        co_await all_account_transfers(client_, scan_metrics_, seat_model::sold_account_id(key_),
                                       abi::account_filter_flags::credits);
    if (!transfers) co_return transfers.fault();
    co_return seat_model::hold_entries_of(key_, venue_.seat_count, *transfers, unix_now_us());
}

// The same credits, only those carrying the order: its holds carry it, and their posts and
// voids inherit it.
asio::awaitable<Result<std::vector<SeatHoldEntry>>> TbSeatLedger::hold_entries_of(u128 order_id) {
    TF_ASSERT(order_id != 0);
    if (stopped_) co_return Fault::shutting_down;
    auto transfers = co_await account_transfers_carrying(
        client_, scan_metrics_, seat_model::sold_account_id(key_),
        abi::account_filter_flags::credits, order_id);
    if (!transfers) co_return transfers.fault();
    co_return seat_model::hold_entries_of(key_, venue_.seat_count, *transfers, unix_now_us());
}

asio::awaitable<Result<SeatHoldResult>> TbSeatLedger::hold_seats(SeatHoldRequest request) {
    TF_ASSERT(valid_seat_hold(request, venue_.seat_count));
    if (stopped_) co_return Fault::shutting_down;
    std::vector<abi::Transfer> chain = seat_model::hold_chain(key_, request.seats, request.hold_ids,
                                                              request.timeout_s, request.order_id);
    auto results = co_await batcher_.submit(std::move(chain));
    if (!results) co_return results.fault();
    const std::vector<std::uint32_t> statuses = statuses_of(*results);
    const std::optional<seat_model::ChainOutcome> outcome = seat_model::chain_outcome(statuses);
    if (!outcome) {
        for (std::size_t i = 0; i < statuses.size(); i++) {
            log_unexpected("seat hold", request.hold_ids[i], statuses[i]);
        }
        co_return Fault::internal;
    }
    SeatHoldResult result;
    result.held = *outcome == seat_model::ChainOutcome::held;
    if (result.held) co_return result;
    // The cluster names only the chain's first refused event: look at every seat asked for.
    auto taken = co_await taken_among(request.seats);
    if (!taken) co_return taken.fault();
    result.gone = std::move(*taken);
    co_return result;
}

asio::awaitable<Result<std::vector<SeatId>>> TbSeatLedger::taken_among(
    const std::vector<SeatId>& seats) {
    std::vector<u128> ids;
    ids.reserve(seats.size());
    for (SeatId seat : seats) ids.push_back(seat_model::seat_account_id(key_, seat));
    if (stopped_) co_return Fault::shutting_down;
    auto lookup = seat_lookups_.submit(ids);  // Apart from the co_await: GCC 12 (flows/).
    auto accounts = co_await std::move(lookup);
    if (!accounts) co_return accounts.fault();
    for (std::size_t i = 0; i < ids.size(); i++) {
        if ((*accounts)[i].id != ids[i]) co_return Fault::internal;  // Answers come in order.
    }
    std::vector<SeatId> taken;
    for (std::size_t i = 0; i < seats.size(); i++) {
        if (seat_model::state_of((*accounts)[i]) != seating::SeatState::free) {
            taken.push_back(seats[i]);
        }
    }
    co_return taken;
}

asio::awaitable<Result<std::vector<Resolution>>> TbSeatLedger::post_seats(SeatHolds holds) {
    co_return co_await resolve(std::move(holds), true);
}

asio::awaitable<Result<std::vector<Resolution>>> TbSeatLedger::void_seats(SeatHolds holds) {
    co_return co_await resolve(std::move(holds), false);
}

// One submission, not linked: each seat's post or void stands on its own, as for classes.
asio::awaitable<Result<std::vector<Resolution>>> TbSeatLedger::resolve(SeatHolds holds,
                                                                       bool posting) {
    TF_ASSERT(!holds.seats.empty() && holds.seats.size() == holds.hold_ids.size());
    if (stopped_) co_return Fault::shutting_down;
    std::vector<abi::Transfer> transfers;
    transfers.reserve(holds.seats.size());
    for (std::size_t i = 0; i < holds.seats.size(); i++) {
        TF_ASSERT_LT(holds.seats[i], venue_.seat_count);
        transfers.push_back(posting
                                ? seat_model::post(key_, holds.seats[i], holds.hold_ids[i])
                                : seat_model::void_hold(key_, holds.seats[i], holds.hold_ids[i]));
    }
    auto results = co_await batcher_.submit(std::move(transfers));
    if (!results) co_return results.fault();
    std::vector<Resolution> resolutions;
    for (std::size_t i = 0; i < results->size(); i++) {
        std::uint32_t code = (*results)[i].status;
        // A hold id of another seat is no hold of this one.
        if (code == status::pending_transfer_has_different_debit_account_id ||
            code == status::pending_transfer_has_different_credit_account_id) {
            code = status::pending_transfer_not_found;
        }
        const std::optional<Resolution> resolution =
            posting ? model::post_resolution(code) : model::void_resolution(code);
        if (!resolution) {
            log_unexpected(posting ? "seat post" : "seat void", holds.hold_ids[i], code);
            co_return Fault::internal;
        }
        resolutions.push_back(*resolution);
    }
    co_return resolutions;
}

}  // namespace tigerfans::accounting::tb

// The seats on TigerBeetle: accounts created and funded at start-up, holds as linked chains,
// states read back from the seat accounts' balances.
#include "accounting/tigerbeetle/seat_ledger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>

#include "accounting/tigerbeetle/model.hpp"
#include "accounting/tigerbeetle/seat_model.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::accounting::tb {

namespace {
std::vector<std::uint32_t> statuses_of(const std::vector<abi::CreateResult>& results) {
    std::vector<std::uint32_t> statuses;
    statuses.reserve(results.size());
    for (const abi::CreateResult& result : results) statuses.push_back(result.status);
    return statuses;
}
}  // namespace

TbSeatLedger::TbSeatLedger(const seating::Venue& venue, PacketSubmitter& client,
                           TransferBatcher& batcher, SeatRequestMetrics metrics,
                           std::uint32_t events_max)
    : venue_(venue),
      client_(client),
      batcher_(batcher),
      metrics_(metrics),
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
    const std::vector<abi::Account> accounts = seat_model::accounts(key_, venue_.seat_count);
    for (std::size_t first = 0; first < accounts.size(); first += events_max_) {
        const std::size_t count = std::min<std::size_t>(events_max_, accounts.size() - first);
        const std::span<const abi::Account> part(accounts.data() + first, count);
        auto results = co_await create_accounts(client_, metrics_.create_accounts, part);
        if (!results) co_return results.fault();
        Status ready = check_results(part, *results, model::is_account_ready, "seat account");
        if (!ready) co_return ready;
    }
    co_return done();
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

// The accounts of `ids`, all of which must exist, in the order asked.
asio::awaitable<Result<std::vector<abi::Account>>> TbSeatLedger::lookup_seats(
    std::vector<u128> ids) {
    std::vector<abi::Account> all;
    all.reserve(ids.size());
    for (std::size_t first = 0; first < ids.size(); first += events_max_) {
        const std::size_t count = std::min<std::size_t>(events_max_, ids.size() - first);
        auto found = co_await lookup_accounts(client_, metrics_.lookup_accounts,
                                              std::span<const u128>(ids.data() + first, count));
        if (!found) co_return found.fault();
        if (found->size() != count) {
            spdlog::error("TigerBeetle: {} of {} seat accounts are missing", count - found->size(),
                          count);
            co_return Fault::internal;
        }
        all.insert(all.end(), found->begin(), found->end());
    }
    for (std::size_t i = 0; i < ids.size(); i++) {
        if (all[i].id != ids[i]) co_return Fault::internal;  // Lookups answer in request order.
    }
    co_return all;
}

asio::awaitable<Result<seating::SeatStates>> TbSeatLedger::seat_states() {
    std::vector<u128> ids(venue_.seat_count);
    for (SeatId seat = 0; seat < venue_.seat_count; seat++) {
        ids[seat] = seat_model::seat_account_id(key_, seat);
    }
    auto accounts = co_await lookup_seats(std::move(ids));
    if (!accounts) co_return accounts.fault();
    seating::SeatStates states(venue_.seat_count);
    for (SeatId seat = 0; seat < venue_.seat_count; seat++) {
        states.set(seat, seat_model::state_of((*accounts)[seat]));
    }
    co_return states;
}

asio::awaitable<Result<SeatHoldResult>> TbSeatLedger::hold_seats(SeatHoldRequest request) {
    TF_ASSERT(valid_seat_hold(request, venue_.seat_count));
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
    auto accounts = co_await lookup_seats(std::move(ids));
    if (!accounts) co_return accounts.fault();
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
        const std::uint32_t code = (*results)[i].status;
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

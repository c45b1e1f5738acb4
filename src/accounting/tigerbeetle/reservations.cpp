// Holds, posts, voids and late bookings as transfer submissions, and the goodie outlook they
// keep up to date.
#include "accounting/tigerbeetle/reservations.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <vector>

#include "accounting/tigerbeetle/model.hpp"
#include "accounting/tigerbeetle/requests.hpp"

namespace tigerfans::accounting::tb {

namespace {

Resolution resolve_goodie(std::optional<Resolution> resolution, std::string_view what, u128 id,
                          std::uint32_t status) {
    if (resolution) return *resolution;
    log_unexpected(what, id, status);
    return Resolution::not_found;
}

// A goodie hold that was voided, or that a post or void found expired, is back in stock.
bool gives_goodie_back(Resolution resolution, bool voiding) {
    return resolution == Resolution::expired || (voiding && resolution == Resolution::done);
}

}  // namespace

Reservations::Reservations(TransferBatcher& batcher, Clock::duration goodie_retry_interval,
                           std::function<Clock::time_point()> now)
    : batcher_(batcher), goodies_(goodie_retry_interval), now_(std::move(now)) {}

asio::awaitable<Result<HoldResult>> Reservations::hold(HoldRequest request) {
    const Resource ticket = resource_of(request.cls);
    std::vector<abi::Transfer> holds{
        model::hold(ticket, request.ticket_hold_id, request.timeout_s, request.order_id)};
    const bool wants_goodie = request.goodie_hold_id != 0 && goodies_.should_try(now_());
    if (wants_goodie) {
        holds.push_back(model::hold(Resource::goodies, request.goodie_hold_id, request.timeout_s,
                                    request.order_id));
    }
    auto results = co_await batcher_.submit(std::move(holds));
    if (!results) co_return results.fault();
    const std::optional<bool> ticket_held = model::is_held((*results)[0].status);
    const bool goodie_held =
        wants_goodie && goodie_hold_taken((*results)[1].status, request.goodie_hold_id);
    if (ticket_held.value_or(false)) co_return HoldResult{true, goodie_held};
    if (goodie_held) co_await release_goodie(request.goodie_hold_id);
    if (!ticket_held) {
        log_unexpected("ticket hold", request.ticket_hold_id, (*results)[0].status);
        co_return Fault::internal;
    }
    co_return HoldResult{false, false};  // Sold out.
}

asio::awaitable<Result<CommitResult>> Reservations::commit(CommitRequest request) {
    std::vector<abi::Transfer> posts{model::post(resource_of(request.cls), request.ticket_hold_id)};
    if (request.goodie_held) {
        posts.push_back(model::post(Resource::goodies, request.goodie_hold_id));
    }
    auto results = co_await batcher_.submit(std::move(posts));
    if (!results) co_return results.fault();
    const std::optional<Resolution> ticket = model::post_resolution((*results)[0].status);
    if (!ticket) {
        log_unexpected("ticket post", request.ticket_hold_id, (*results)[0].status);
        co_return Fault::internal;
    }
    CommitResult committed;
    committed.ticket = *ticket;
    if (request.goodie_held) {
        committed.goodie =
            resolve_goodie(model::post_resolution((*results)[1].status), "goodie post",
                           request.goodie_hold_id, (*results)[1].status);
        if (gives_goodie_back(committed.goodie, false)) goodies_.on_maybe_left();
    }
    co_return committed;
}

asio::awaitable<Result<BookResult>> Reservations::book_late(CommitRequest request) {
    BookResult booked;
    const Result<bool> ticket = co_await book(resource_of(request.cls), request.ticket_hold_id,
                                              request.order_id, "late ticket");
    if (!ticket) co_return ticket.fault();
    booked.got_ticket = *ticket;
    // A goodie without a ticket would be a gift to nobody: book it only with the ticket. A paid
    // fan's late goodie is always tried: the outlook only spares holds.
    if (booked.got_ticket && request.goodie_held) {
        const Result<bool> goodie = co_await book(Resource::goodies, request.goodie_hold_id,
                                                  request.order_id, "late goodie");
        booked.got_goodie = goodie.ok() && *goodie;
        if (goodie.ok() && !*goodie) goodies_.on_refused(now_());
    }
    co_return booked;
}

asio::awaitable<Status> Reservations::cancel(TicketClass cls, u128 ticket_hold_id,
                                             u128 goodie_hold_id) {
    std::vector<abi::Transfer> voids;
    const Resource ticket = resource_of(cls);
    if (ticket_hold_id != 0) voids.push_back(model::void_hold(ticket, ticket_hold_id));
    if (goodie_hold_id != 0) voids.push_back(model::void_hold(Resource::goodies, goodie_hold_id));
    if (voids.empty()) co_return done();
    auto results = co_await batcher_.submit(voids);
    if (!results) co_return results.fault();
    if (goodie_hold_id != 0) {
        const std::optional<Resolution> goodie = model::void_resolution(results->back().status);
        if (goodie && gives_goodie_back(*goodie, true)) goodies_.on_maybe_left();
    }
    co_return check_results(
        std::span<const abi::Transfer>(voids), *results,
        [](std::uint32_t status) { return model::void_resolution(status).has_value(); }, "void");
}

void Reservations::note_goodie_balance(const Balance& goodies) {
    goodies_.on_balance(goodies.available(), now_());
}

bool Reservations::goodie_hold_taken(std::uint32_t status, u128 goodie_hold_id) {
    const std::optional<bool> held = model::is_held(status);
    if (!held) {
        log_unexpected("goodie hold", goodie_hold_id, status);
        return false;
    }
    if (*held) {
        goodies_.on_maybe_left();
    } else {
        goodies_.on_refused(now_());
    }
    return *held;
}

asio::awaitable<Result<bool>> Reservations::book(Resource resource, u128 hold_id, u128 order_id,
                                                 std::string_view what) {
    auto result = co_await batcher_.submit_one(model::late_booking(resource, hold_id, order_id));
    if (!result) co_return result.fault();
    const std::optional<bool> booked = model::is_booked(result->status);
    if (booked) co_return *booked;
    log_unexpected(what, hold_id, result->status);
    co_return Fault::internal;
}

// A sold-out ticket must not keep its goodie: void the goodie hold at once. If that fails the
// hold still expires by itself.
asio::awaitable<void> Reservations::release_goodie(u128 goodie_hold_id) {
    auto voided = co_await batcher_.submit_one(model::void_hold(Resource::goodies, goodie_hold_id));
    const std::optional<Resolution> resolution =
        voided ? model::void_resolution(voided->status) : std::nullopt;
    if (resolution) {
        if (gives_goodie_back(*resolution, true)) goodies_.on_maybe_left();
        co_return;
    }
    spdlog::warn("TigerBeetle: could not void goodie hold {}; it will expire",
                 u128_to_decimal(goodie_hold_id));
}

}  // namespace tigerfans::accounting::tb

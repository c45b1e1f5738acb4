// The ledger's rules, applied in memory to one batch (see batch_planner.hpp). Counters move
// only together with a row's status, so `held` is always the number of pending rows and `sold`
// the number of posted ones, per resource; asserts keep it so.
#include "accounting/postgres/batch_planner.hpp"

#include <algorithm>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/ids.hpp"

namespace tigerfans::accounting::postgres {

namespace {
constexpr std::array<std::string_view, 5> status_names = {"pending", "posted", "voided", "expired",
                                                          "rejected"};
constexpr std::array<std::string_view, resource_count> resource_names = {"class_a", "class_b",
                                                                         "goodies"};

// The enumerator whose name (by position in `names`) is `name`.
template <typename Enum, std::size_t N>
std::optional<Enum> parse_name(const std::array<std::string_view, N>& names,
                               std::string_view name) {
    for (std::size_t i = 0; i < N; i++) {
        if (names[i] == name) return static_cast<Enum>(i);
    }
    return std::nullopt;
}

// Lets std::visit pick a lambda per alternative.
template <typename... Lambdas>
struct Overloaded : Lambdas... {
    using Lambdas::operator()...;
};
template <typename... Lambdas>
Overloaded(Lambdas...) -> Overloaded<Lambdas...>;

// The ticket and goodie hold ids an operation names (0 where none).
std::array<u128, 2> hold_ids_of(const Operation& operation) {
    return std::visit(
        Overloaded{
            [](const CancelOp& op) {
                return std::array{op.ticket_hold_id, op.goodie_hold_id};
            },
            [](const InventoryOp&) {
                return std::array<u128, 2>{0, 0};
            },
            [](const auto& op) {
                return std::array{op.request.ticket_hold_id, op.request.goodie_hold_id};
            },
        },
        operation);
}

void add_hold_ids(std::vector<u128>& ids, u128 ticket_hold_id, u128 goodie_hold_id) {
    for (u128 id : {ticket_hold_id, goodie_hold_id}) {
        if (id == 0) continue;
        ids.push_back(id);
        ids.push_back(derive_id(id, Derivation::late_booking));
    }
}
}  // namespace

std::string_view hold_status_name(HoldStatus status) {
    return status_names[static_cast<std::size_t>(status)];
}

std::optional<HoldStatus> parse_hold_status(std::string_view name) {
    return parse_name<HoldStatus>(status_names, name);
}

std::string_view resource_name(Resource resource) {
    return resource_names[static_cast<std::size_t>(resource)];
}

std::optional<Resource> parse_resource(std::string_view name) {
    return parse_name<Resource>(resource_names, name);
}

bool same_balances(const Balances& a, const Balances& b) {
    for (std::size_t i = 0; i < resource_count; i++) {
        if (a[i].capacity != b[i].capacity || a[i].sold != b[i].sold || a[i].held != b[i].held) {
            return false;
        }
    }
    return true;
}

std::vector<u128> referenced_ids(std::span<const Operation> operations) {
    std::vector<u128> ids;
    for (const Operation& operation : operations) {
        const auto [ticket_hold_id, goodie_hold_id] = hold_ids_of(operation);
        add_hold_ids(ids, ticket_hold_id, goodie_hold_id);
    }
    return ids;
}

BatchPlanner::BatchPlanner(Balances balances, HoldRows rows)
    : balances_(balances), rows_(std::move(rows)) {
    TF_ASSERT(std::all_of(rows_.begin(), rows_.end(), [](const auto& entry) {
        return entry.first != 0 && !entry.second.is_new && !entry.second.changed;
    }));
}

Outcome BatchPlanner::apply(const Operation& operation) {
    return std::visit(Overloaded{
                          [&](const HoldOp& op) -> Outcome { return hold(op.request); },
                          [&](const CommitOp& op) -> Outcome { return commit(op.request); },
                          [&](const BookLateOp& op) -> Outcome { return book_late(op.request); },
                          [&](const CancelOp& op) -> Outcome { return cancel(op); },
                          [&](const InventoryOp&) -> Outcome { return inventory(); },
                      },
                      operation);
}

// Not linked: the goodie is tried only once the ticket is held, so a sold-out answer never
// leaves a goodie hold behind.
HoldResult BatchPlanner::hold(const HoldRequest& request) {
    TF_ASSERT(request.ticket_hold_id != 0);
    HoldResult result;
    result.ticket_held = reserve(request.ticket_hold_id, resource_of(request.cls),
                                 request.timeout_s, request.order_id);
    if (result.ticket_held && request.goodie_hold_id != 0) {
        result.goodie_held =
            reserve(request.goodie_hold_id, Resource::goodies, request.timeout_s, request.order_id);
    }
    return result;
}

CommitResult BatchPlanner::commit(const CommitRequest& request) {
    CommitResult result;
    result.ticket = resolve(request.ticket_hold_id, resource_of(request.cls), HoldStatus::posted);
    if (request.goodie_held && request.goodie_hold_id != 0) {
        result.goodie = resolve(request.goodie_hold_id, Resource::goodies, HoldStatus::posted);
    }
    return result;
}

BookResult BatchPlanner::book_late(const CommitRequest& request) {
    BookResult result;
    result.got_ticket = book(request.ticket_hold_id, resource_of(request.cls), request.order_id);
    if (result.got_ticket && request.goodie_held && request.goodie_hold_id != 0) {
        result.got_goodie = book(request.goodie_hold_id, Resource::goodies, request.order_id);
    }
    return result;
}

// Expired, already voided, even already posted: the caller only needs the holds gone.
Done BatchPlanner::cancel(const CancelOp& operation) {
    if (operation.ticket_hold_id != 0) {
        resolve(operation.ticket_hold_id, resource_of(operation.cls), HoldStatus::voided);
    }
    if (operation.goodie_hold_id != 0) {
        resolve(operation.goodie_hold_id, Resource::goodies, HoldStatus::voided);
    }
    return Done{};
}

Inventory BatchPlanner::inventory() const {
    return Inventory{balances_[static_cast<std::size_t>(Resource::class_a)],
                     balances_[static_cast<std::size_t>(Resource::class_b)],
                     balances_[static_cast<std::size_t>(Resource::goodies)]};
}

// A new pending row when capacity remains. An id seen before is a replay of the same request:
// it answers what the first attempt got.
bool BatchPlanner::reserve(u128 id, Resource resource, std::uint32_t timeout_s, u128 order_id) {
    if (const auto existing = rows_.find(id); existing != rows_.end()) {
        const HoldRow& row = existing->second;
        return row.resource == resource &&
               (row.status == HoldStatus::pending || row.status == HoldStatus::posted);
    }
    if (balance(resource).available() == 0) return false;
    insert(id, resource, HoldStatus::pending, timeout_s, order_id);
    balance(resource).held++;
    return true;
}

// Posts or voids a hold. Once resolved, a hold keeps its status: repeating the same resolution
// is done, the other one is a conflict.
Resolution BatchPlanner::resolve(u128 id, Resource resource, HoldStatus target) {
    TF_ASSERT(target == HoldStatus::posted || target == HoldStatus::voided);
    const HoldRow* found = find(id, resource);
    if (found == nullptr || found->status == HoldStatus::rejected) return Resolution::not_found;
    if (found->status == HoldStatus::expired) return Resolution::expired;
    if (found->status == target) return Resolution::done;
    if (found->status != HoldStatus::pending) return Resolution::conflict;
    HoldRow& row = rows_.at(id);
    row.status = target;
    row.changed = !row.is_new;
    Balance& counts = balance(resource);
    TF_ASSERT(counts.held > 0);
    counts.held--;
    if (target == HoldStatus::posted) counts.sold++;
    return Resolution::done;
}

// Late success: a booking of its own (posted, or rejected when nothing is left) under the
// derived id, whose status a replay reports; the webhook names that id in the order, as on
// TigerBeetle. A hold that landed after the commit found none (an operator's payment before
// the checkout answered) is still pending: it is voided and its unit goes to the booking, so
// the order never holds a second ticket. A hold posted already is the ticket.
bool BatchPlanner::book(u128 hold_id, Resource resource, u128 order_id) {
    TF_ASSERT(hold_id != 0);
    const u128 booking_id = derive_id(hold_id, Derivation::late_booking);
    if (const HoldRow* booking = find(booking_id, resource)) {
        return booking->status == HoldStatus::posted;
    }
    bool unit_freed = false;  // The hold's own, even under a capacity lowered since.
    if (const HoldRow* hold = find(hold_id, resource)) {
        if (hold->status == HoldStatus::posted) return true;
        if (hold->status == HoldStatus::pending) {
            unit_freed = resolve(hold_id, resource, HoldStatus::voided) == Resolution::done;
        }
    }
    const bool available = unit_freed || balance(resource).available() > 0;
    insert(booking_id, resource, available ? HoldStatus::posted : HoldStatus::rejected, 0,
           order_id);
    if (available) balance(resource).sold++;
    return available;
}

void BatchPlanner::insert(u128 id, Resource resource, HoldStatus status, std::uint32_t timeout_s,
                          u128 order_id) {
    TF_ASSERT(id != 0);
    const bool inserted =
        rows_.emplace(id, HoldRow{resource, status, timeout_s, order_id, true, false}).second;
    TF_ASSERT(inserted);
    (void)inserted;
}

const HoldRow* BatchPlanner::find(u128 id, Resource resource) const {
    const auto found = rows_.find(id);
    if (found == rows_.end() || found->second.resource != resource) return nullptr;
    return &found->second;
}

}  // namespace tigerfans::accounting::postgres

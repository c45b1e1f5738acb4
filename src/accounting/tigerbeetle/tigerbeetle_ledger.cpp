// Level 3 accounting: the Ledger on TigerBeetle. Every transfer (holds, posts, voids, late
// bookings, funding) goes through one automatic batcher into create_transfers packets; the
// reservations (reservations.hpp) build and read the holds, posts, voids and late bookings;
// account creation and lookups go straight through the client. Start-up is idempotent: fixed
// account ids and fixed funding-transfer ids meet `exists` on a restart. Loop thread only.
#include "accounting/tigerbeetle/tigerbeetle_ledger.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <limits>
#include <memory>
#include <optional>

#include "accounting/tigerbeetle/batcher.hpp"
#include "accounting/tigerbeetle/client.hpp"
#include "accounting/tigerbeetle/library.hpp"
#include "accounting/tigerbeetle/model.hpp"
#include "accounting/tigerbeetle/requests.hpp"
#include "accounting/tigerbeetle/reservations.hpp"
#include "accounting/tigerbeetle/seat_ledger.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::accounting {

namespace {

using namespace tb;

// The configured batch limit never asks more of a request than the protocol carries.
static_assert(limits::tb_batch_events_max <= abi::request_events_max);
using Clock = std::chrono::steady_clock;

// Waits for `operation` at most `timeout`. The cluster never times a request out and the client
// cannot cancel one, so on a timeout the operation keeps running and its late result is dropped.
template <typename T>
asio::awaitable<std::optional<T>> with_deadline(asio::any_io_executor executor,
                                                asio::awaitable<T> operation,
                                                std::chrono::milliseconds timeout) {
    struct Race {
        explicit Race(const asio::any_io_executor& e) : timer(e) {}
        asio::steady_timer timer;
        std::optional<T> value;
    };
    auto race = std::make_shared<Race>(executor);
    race->timer.expires_after(timeout);
    asio::co_spawn(executor, std::move(operation), [race](std::exception_ptr error, T value) {
        if (!error) race->value = std::move(value);
        race->timer.cancel();
    });
    boost::system::error_code ignored;
    co_await race->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    co_return std::move(race->value);
}

std::uint64_t to_u64(u128 amount) {
    TF_ASSERT(amount <= std::numeric_limits<std::uint64_t>::max());
    return static_cast<std::uint64_t>(amount);
}

const abi::Account* find_account(const std::vector<abi::Account>& accounts, u128 id) {
    for (const abi::Account& account : accounts) {
        if (account.id == id) return &account;
    }
    return nullptr;
}

std::string_view resource_name(Resource resource) {
    switch (resource) {
        case Resource::class_a: return "class A";
        case Resource::class_b: return "class B";
        case Resource::goodies: return "goodies";
    }
    return "?";
}

class TigerBeetleLedger final : public Ledger {
public:
    TigerBeetleLedger(asio::any_io_executor loop, TigerBeetleOptions options,
                      metrics::Registry& registry)
        : loop_(std::move(loop)),
          options_(std::move(options)),
          transfer_metrics_(RequestMetrics::in(registry, "create_transfers")),
          account_metrics_(RequestMetrics::in(registry, "create_accounts")),
          lookup_metrics_(RequestMetrics::in(registry, "lookup_accounts")),
          scan_metrics_(RequestMetrics::in(registry, "get_account_transfers")) {
        TF_ASSERT_GT(options_.batch_events_max, 0u);
        TF_ASSERT_LE(options_.batch_events_max, abi::request_events_max);
        TF_ASSERT_GT(options_.batches_in_flight, 0u);
        TF_ASSERT_LE(options_.batches_in_flight, limits::tb_batches_in_flight_max);
    }

    ~TigerBeetleLedger() override = default;

    std::string_view backend_name() const override { return "TigerBeetle"; }

    asio::awaitable<Status> start() override {
        if (Status ready = ensure_client(); !ready) co_return ready;
        const auto timeout = std::chrono::milliseconds(limits::tb_start_timeout_ms);
        std::optional<Status> set_up = co_await with_deadline(loop_, set_up_accounts(), timeout);
        if (!set_up) {
            spdlog::error("TigerBeetle at '{}' (cluster {}) did not answer within {} ms",
                          options_.addresses, options_.cluster_id, limits::tb_start_timeout_ms);
            co_return Fault::unavailable;
        }
        if (!*set_up || !seats_) co_return *set_up;
        co_return co_await set_up_seats();
    }

    asio::awaitable<Status> attach() override {
        if (Status ready = ensure_client(); !ready) co_return ready;
        const auto timeout = std::chrono::milliseconds(limits::tb_start_timeout_ms);
        std::optional<bool> found = co_await with_deadline(loop_, accounts_exist(), timeout);
        if (found.value_or(false)) co_return done();
        spdlog::error("TigerBeetle at '{}' (cluster {}): {}", options_.addresses,
                      options_.cluster_id,
                      found ? "the sale's accounts do not exist" : "no answer");
        co_return Fault::unavailable;
    }

    asio::awaitable<Result<HoldResult>> hold(HoldRequest request) override {
        if (Status ready = usable(); !ready) co_return ready.fault();
        co_return co_await reservations_->hold(request);
    }

    asio::awaitable<Result<CommitResult>> commit(CommitRequest request) override {
        if (Status ready = usable(); !ready) co_return ready.fault();
        co_return co_await reservations_->commit(request);
    }

    asio::awaitable<Result<BookResult>> book_late(CommitRequest request) override {
        if (Status ready = usable(); !ready) co_return ready.fault();
        co_return co_await reservations_->book_late(request);
    }

    asio::awaitable<Status> cancel(TicketClass cls, u128 ticket_hold_id,
                                   u128 goodie_hold_id) override {
        if (Status ready = usable(); !ready) co_return ready;
        co_return co_await reservations_->cancel(cls, ticket_hold_id, goodie_hold_id);
    }

    asio::awaitable<Result<Inventory>> inventory() override {
        if (Status ready = usable(); !ready) co_return ready.fault();
        std::vector<u128> ids;
        for (Resource resource : model::resources) {
            ids.push_back(model::ids_of(resource).spent_account);
            ids.push_back(model::ids_of(resource).budget_account);
        }
        auto accounts = co_await lookup_accounts(*client_, lookup_metrics_, ids);
        if (!accounts) co_return accounts.fault();
        Inventory inventory;
        for (Resource resource : model::resources) {
            std::optional<Balance> balance = balance_of(*accounts, resource);
            if (!balance) co_return Fault::internal;
            balance_slot(inventory, resource) = *balance;
        }
        reservations_->note_goodie_balance(inventory.goodies);
        co_return inventory;
    }

    asio::awaitable<Result<std::vector<LedgerEntry>>> entries() override {
        if (Status ready = usable(); !ready) co_return ready.fault();
        std::vector<LedgerEntry> all;
        for (Resource resource : model::resources) {
            auto transfers = co_await budget_debits(*client_, scan_metrics_, resource);
            if (!transfers) co_return transfers.fault();
            std::vector<LedgerEntry> folded =
                model::fold_entries(resource, *transfers, unix_now_us());
            all.insert(all.end(), folded.begin(), folded.end());
        }
        co_return all;
    }

    asio::awaitable<Result<std::vector<LedgerEntry>>> entries_of(u128 order_id) override {
        TF_ASSERT(order_id != 0);
        if (Status ready = usable(); !ready) co_return ready.fault();
        std::vector<LedgerEntry> all;
        for (Resource resource : model::resources) {
            auto transfers = co_await account_transfers_carrying(
                *client_, scan_metrics_, model::ids_of(resource).budget_account,
                abi::account_filter_flags::debits, order_id);
            if (!transfers) co_return transfers.fault();
            std::vector<LedgerEntry> folded =
                model::fold_entries(resource, *transfers, unix_now_us());
            all.insert(all.end(), folded.begin(), folded.end());
        }
        co_return all;
    }

    SeatLedger* seats() override { return seats_ready_ ? seats_.get() : nullptr; }

    asio::awaitable<bool> healthy() override {
        if (!usable()) co_return false;
        const Clock::time_point now = Clock::now();
        const auto probe_timeout = std::chrono::milliseconds(limits::tb_health_probe_timeout_ms);
        const std::optional<Clock::time_point> oldest = client_->oldest_request_start();
        if (oldest && now - *oldest > probe_timeout) co_return false;  // A request hangs.
        const std::optional<Clock::time_point> last = client_->last_success();
        if (last && now - *last < std::chrono::milliseconds(limits::tb_health_fresh_ms))
            co_return true;
        std::optional<bool> answered = co_await with_deadline(loop_, probe(), probe_timeout);
        co_return answered.value_or(false);
    }

    // The batchers flush what is queued and wait for what is in flight, for at most the drain
    // timeout: the cluster never times a request out, so one that stopped answering (a start-up
    // that gave up on it, a replica gone at shutdown) would hold the stop forever. Closing the
    // client (deinit, from the loop) then fails what it still carries, and the batchers finish.
    asio::awaitable<void> stop() override {
        if (stopped_) co_return;
        stopped_ = true;
        if (seats_) seats_->stop();
        if (batcher_) batcher_->stop();
        const std::optional<bool> drained = co_await with_deadline(
            loop_, drain(), std::chrono::milliseconds(limits::shutdown_drain_timeout_ms));
        if (!drained) {
            spdlog::warn("TigerBeetle: requests still unanswered after {} ms; closing the client",
                         limits::shutdown_drain_timeout_ms);
        }
        if (client_) client_->close();
        if (!drained) co_await drain();
    }

private:
    asio::awaitable<bool> drain() {
        if (batcher_) co_await batcher_->drain();
        if (seats_) co_await seats_->drain();
        co_return true;
    }

    Status usable() const {
        if (stopped_) return Fault::shutting_down;
        if (!client_) return Fault::unavailable;  // start() failed or never ran.
        return done();
    }

    // The client start() and attach() both need, made once.
    Status ensure_client() {
        if (stopped_) return Fault::shutting_down;
        return client_ ? done() : make_client();
    }

    Status make_client() {
        std::string error;
        const Library* library = load_library(options_.client_library_path, error);
        if (library == nullptr) {
            spdlog::error("{}", error);
            return Fault::unavailable;
        }
        auto client = std::make_unique<Client>(
            loop_, *library, ClientOptions{options_.addresses, options_.cluster_id, false});
        if (Status opened = client->open(); !opened) return opened;
        client_ = std::move(client);
        executor_ =
            std::make_unique<TransferExecutor>(*client_, abi::Operation::create_transfers,
                                               options_.batch_events_max, transfer_metrics_);
        // Up to batches_in_flight batches run at once, and nothing here needs a transfer applied
        // before another that may be in flight beside it. A post or void of a hold is built only
        // after the hold's own submission answered: commit and the webhook's cancel work from
        // a session whose id the fan is given only after its hold answered, checkout's cancel
        // and the release of a sold-out ticket's goodie follow the hold's answer, a late goodie
        // follows its late ticket's answer, and the fundings go out at start-up before any
        // hold. The one exception, an operator paying or canceling from the pending list before
        // the checkout answered, may meet no hold yet: the post books late, the void finds
        // nothing (docs/ARCHITECTURE.md, Checkout). What does race (two deliveries of one
        // payment posting and voiding the same hold) races with one batch in flight as well:
        // the cluster applies one first, the other meets `conflict` or `exists`. Overselling
        // stays impossible however batches interleave: every debit is checked against its
        // Budget account.
        batcher_ = std::make_unique<TransferBatcher>(
            loop_, executor_->as_execute(), options_.batch_events_max,
            limits::batcher_queue_items_max, BatcherObserver{}, options_.batches_in_flight);
        reservations_ = std::make_unique<Reservations>(
            *batcher_, std::chrono::milliseconds(limits::tb_goodie_retry_interval_ms));
        if (options_.venue != nullptr) {
            seats_ = std::make_unique<TbSeatLedger>(
                loop_, *options_.venue, *client_, *batcher_,
                SeatRequestMetrics{account_metrics_, lookup_metrics_, scan_metrics_},
                options_.batch_events_max);
        }
        return done();
    }

    asio::awaitable<Status> set_up_accounts() {
        const auto accounts = model::accounts();
        auto created = co_await create_accounts(*client_, account_metrics_, accounts);
        if (!created) co_return created.fault();
        Status ready = check_results(std::span<const abi::Account>(accounts), *created,
                                     model::is_account_ready, "account");
        if (!ready) co_return ready;
        co_return co_await fund_budgets();
    }

    // A venue's seats in a time window of their own: a stadium is tens of thousands of accounts.
    asio::awaitable<Status> set_up_seats() {
        const auto timeout = std::chrono::milliseconds(limits::tb_start_timeout_ms);
        std::optional<Status> seated = co_await with_deadline(loop_, seats_->start(), timeout);
        if (seated && *seated) {
            seats_ready_ = true;
            co_return done();
        }
        spdlog::error(
            "TigerBeetle: the venue's {} seats were not set up: {}", options_.venue->seat_count,
            seated ? std::string(fault_name(seated->fault()))
                   : "no answer within " + std::to_string(limits::tb_start_timeout_ms) + " ms");
        co_return seated ? *seated : Status(Fault::unavailable);
    }

    asio::awaitable<Status> fund_budgets() {
        std::vector<abi::Transfer> fundings;
        for (Resource resource : model::resources) {
            fundings.push_back(model::funding(resource, options_.capacities.of(resource)));
        }
        auto funded = co_await batcher_->submit(fundings);
        if (!funded) co_return funded.fault();
        Status ready = check_results(std::span<const abi::Transfer>(fundings), *funded,
                                     model::is_funded, "funding");
        if (!ready) co_return ready;
        co_return co_await check_capacities();
    }

    // A capacity changed after the first start cannot be applied (the funding transfer exists):
    // say so loudly, keep serving the funded capacity.
    asio::awaitable<Status> check_capacities() {
        auto inventory_now = co_await inventory();
        if (!inventory_now) co_return inventory_now.fault();
        for (Resource resource : model::resources) {
            const std::uint64_t funded = inventory_now->of(resource).capacity;
            const std::uint64_t configured = options_.capacities.of(resource);
            if (funded == configured) continue;
            spdlog::warn(
                "TigerBeetle: {} capacity is {} in the cluster but {} is configured; "
                "the funding transfer {} already exists, so {} stays in force (use a "
                "fresh data file to change it)",
                resource_name(resource), funded, configured,
                u128_to_decimal(model::ids_of(resource).funding_transfer), funded);
        }
        co_return done();
    }

    std::optional<Balance> balance_of(const std::vector<abi::Account>& accounts,
                                      Resource resource) const {
        const model::ResourceIds ids = model::ids_of(resource);
        const abi::Account* spent = find_account(accounts, ids.spent_account);
        const abi::Account* budget = find_account(accounts, ids.budget_account);
        if (spent == nullptr || budget == nullptr) {
            spdlog::error("TigerBeetle: the {} accounts are missing", resource_name(resource));
            return std::nullopt;
        }
        Balance balance;
        balance.capacity = to_u64(budget->credits_posted);
        balance.sold = to_u64(spent->credits_posted);
        balance.held = to_u64(spent->credits_pending);
        return balance;
    }

    static Balance& balance_slot(Inventory& inventory, Resource resource) {
        switch (resource) {
            case Resource::class_a: return inventory.class_a;
            case Resource::class_b: return inventory.class_b;
            case Resource::goodies: break;
        }
        return inventory.goodies;
    }

    asio::awaitable<bool> accounts_exist() {
        std::vector<u128> ids;
        for (Resource resource : model::resources) {
            ids.push_back(model::ids_of(resource).budget_account);
        }
        auto accounts = co_await lookup_accounts(*client_, lookup_metrics_, ids);
        co_return accounts.ok() && accounts->size() == ids.size();
    }

    asio::awaitable<bool> probe() {
        const u128 id = model::ids_of(Resource::class_a).budget_account;
        auto accounts = co_await lookup_accounts(*client_, lookup_metrics_, std::span(&id, 1));
        co_return accounts.ok() && accounts->size() == 1;
    }

    asio::any_io_executor loop_;
    TigerBeetleOptions options_;
    RequestMetrics transfer_metrics_;
    RequestMetrics account_metrics_;
    RequestMetrics lookup_metrics_;
    RequestMetrics scan_metrics_;
    std::unique_ptr<Client> client_;
    std::unique_ptr<TransferExecutor> executor_;
    std::unique_ptr<TransferBatcher> batcher_;
    std::unique_ptr<Reservations> reservations_;
    std::unique_ptr<TbSeatLedger> seats_;
    bool seats_ready_ = false;  // Set up by start(); attach() leaves the seats alone.
    bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Ledger> make_tigerbeetle_ledger(boost::asio::any_io_executor loop,
                                                TigerBeetleOptions options,
                                                metrics::Registry& registry) {
    return std::make_unique<TigerBeetleLedger>(std::move(loop), std::move(options), registry);
}

}  // namespace tigerfans::accounting

// Level 1 payment sessions and checkout keys (docs/ARCHITECTURE.md §2, §5): the SessionStore on
// PostgreSQL.
// Every call but the admin listing is one operation of the store's automatic batcher, and each
// batch runs as one transaction on the store's own database thread (session_tables.cpp).
//
// Keys come from outside (a psid in a URL, an event key in a webhook body). One that PostgreSQL
// cannot store as text could not have been saved either: looking it up finds nothing, deleting
// it does nothing, and none of them joins a batch it would fail for everyone.
//
// Operations are named before they are awaited: GCC 12 destroys a brace-initialised temporary
// inside a co_await expression twice.
#include "sessions/postgres/postgres_session_store.hpp"

#include "postgres/sql_array.hpp"
#include "postgres/worker_batcher.hpp"
#include "sessions/postgres/session_tables.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::sessions {

namespace {

using postgres::Operation;
using postgres::Outcome;
using tigerfans::postgres::is_storable_text;

bool storable(const KeyClaim& claim) {
    return is_storable_text(claim.key_id) && is_storable_text(claim.fingerprint) &&
           is_storable_text(claim.token);
}

bool storable(const PaymentSession& session) {
    return is_storable_text(session.psid) && is_storable_text(session.order_id) &&
           is_storable_text(session.customer_email) && is_storable_text(session.currency);
}

class PostgresSessionStore final : public SessionStore {
public:
    PostgresSessionStore(asio::any_io_executor loop, std::string database_url,
                         metrics::Registry& registry)
        : worker_(std::move(loop), std::move(database_url), "sessions",
                  postgres::prepare_session_statements),
          batcher_(worker_, postgres::run_session_batch, limits::pg_session_batch_ops_max, registry,
                   "sessions") {}

    std::string_view backend_name() const override { return "PostgreSQL"; }

    asio::awaitable<Status> start() override {
        co_return co_await worker_.run<Done>([](pqxx::connection& connection) {
            postgres::create_session_tables(connection);
            return Done{};
        });
    }

    asio::awaitable<Status> save(const PaymentSession& session, std::uint32_t ttl_s) override {
        TF_ASSERT(ttl_s > 0);
        TF_ASSERT(storable(session));  // Checkout saves only what it validated.
        if (!storable(session)) co_return Fault::internal;
        Operation operation = postgres::SaveOp{session, ttl_s};
        co_return co_await batcher_.submit_one_as<Done>(std::move(operation));
    }

    asio::awaitable<Status> correct_goodie(std::string_view psid, bool goodie_held) override {
        if (!is_storable_text(psid)) co_return done();
        Operation operation = postgres::GoodieOp{std::string(psid), goodie_held};
        co_return co_await batcher_.submit_one_as<Done>(std::move(operation));
    }

    asio::awaitable<Result<std::optional<PaymentSession>>> find(std::string_view psid) override {
        if (!is_storable_text(psid)) co_return std::optional<PaymentSession>();
        Operation operation = postgres::FindOp{std::string(psid)};
        co_return co_await batcher_.submit_one_as<std::optional<PaymentSession>>(
            std::move(operation));
    }

    asio::awaitable<Result<GateAnswer>> take_lease(std::string_view psid, std::string_view token,
                                                   std::uint32_t lease_ms, bool payment) override {
        TF_ASSERT(!token.empty() && lease_ms > 0);
        if (!is_storable_text(psid) || !is_storable_text(token)) co_return Fault::internal;
        Operation operation =
            postgres::LeaseOp{std::string(psid), std::string(token), lease_ms, payment};
        co_return co_await batcher_.submit_one_as<GateAnswer>(std::move(operation));
    }

    asio::awaitable<Status> finish_gate(std::string_view psid,
                                        std::string_view order_status) override {
        TF_ASSERT(!order_status.empty());
        if (!is_storable_text(psid)) co_return Fault::internal;
        Operation operation = postgres::FinishOp{std::string(psid), std::string(order_status)};
        co_return co_await batcher_.submit_one_as<Done>(std::move(operation));
    }

    asio::awaitable<Status> release_lease(std::string_view psid, std::string_view token) override {
        if (!is_storable_text(psid) || !is_storable_text(token)) co_return done();
        Operation operation = postgres::ReleaseOp{std::string(psid), std::string(token)};
        co_return co_await batcher_.submit_one_as<Done>(std::move(operation));
    }

    asio::awaitable<Result<KeyAnswer>> claim_key(const KeyClaim& claim,
                                                 std::uint32_t lease_ms) override {
        TF_ASSERT(lease_ms > 0);
        TF_ASSERT(storable(claim));  // Digests and a token: hex digits only.
        Operation operation = postgres::ClaimKeyOp{claim, lease_ms};
        co_return co_await batcher_.submit_one_as<KeyAnswer>(std::move(operation));
    }

    asio::awaitable<Status> finish_key(const KeyClaim& claim, unsigned status,
                                       std::string_view body, std::uint32_t ttl_s) override {
        TF_ASSERT(ttl_s > 0);
        TF_ASSERT(storable(claim));
        if (!is_storable_text(body)) co_return Fault::internal;
        Operation operation = postgres::FinishKeyOp{claim, status, std::string(body), ttl_s};
        co_return co_await batcher_.submit_one_as<Done>(std::move(operation));
    }

    asio::awaitable<Status> release_key(const KeyClaim& claim) override {
        TF_ASSERT(storable(claim));
        Operation operation = postgres::ReleaseKeyOp{claim};
        co_return co_await batcher_.submit_one_as<Done>(std::move(operation));
    }

    asio::awaitable<Status> remove(std::string_view psid) override {
        if (!is_storable_text(psid)) co_return done();
        Operation operation = postgres::RemoveOp{std::string(psid)};
        co_return co_await batcher_.submit_one_as<Done>(std::move(operation));
    }

    asio::awaitable<Result<bool>> claim_email_slot(std::string_view email,
                                                   std::string_view order_id,
                                                   std::uint64_t counts_ms,
                                                   std::uint32_t limit) override {
        TF_ASSERT(!email.empty() && limit > 0);
        if (!is_storable_text(email) || !is_storable_text(order_id)) co_return Fault::internal;
        Operation operation =
            postgres::ClaimSlotOp{std::string(email), std::string(order_id), counts_ms, limit};
        co_return co_await batcher_.submit_one_as<bool>(std::move(operation));
    }

    asio::awaitable<Status> settle_email_slot(std::string_view email, std::string_view order_id,
                                              bool paid) override {
        if (!is_storable_text(email) || !is_storable_text(order_id)) co_return Fault::internal;
        Operation operation = postgres::SlotOp{std::string(email), std::string(order_id), paid};
        co_return co_await batcher_.submit_one_as<Done>(std::move(operation));
    }

    // The admin listing goes straight to the database thread: rare, and not worth a batch.
    asio::awaitable<Result<PendingList>> recent(std::size_t limit) override {
        const std::size_t rows = std::min(limit, limits::pending_sessions_max);
        co_return co_await worker_.run<PendingList>([rows](pqxx::connection& connection) {
            return postgres::recent_sessions(connection, rows);
        });
    }

    asio::awaitable<bool> healthy() override { co_return co_await worker_.ping(); }

    asio::awaitable<void> stop() override { co_await batcher_.stop(); }

private:
    tigerfans::postgres::Worker worker_;
    tigerfans::postgres::WorkerBatcher<Operation, Outcome> batcher_;
};

}  // namespace

std::unique_ptr<SessionStore> make_postgres_store(boost::asio::any_io_executor loop,
                                                  std::string database_url,
                                                  metrics::Registry& registry) {
    return std::make_unique<PostgresSessionStore>(std::move(loop), std::move(database_url),
                                                  registry);
}

}  // namespace tigerfans::sessions

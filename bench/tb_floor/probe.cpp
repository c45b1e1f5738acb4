// The floor probe's requests and measurements (see probe.hpp).
#include "probe.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <span>

#include "accounting/tigerbeetle/abi.hpp"
#include "accounting/tigerbeetle/requests.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/u128.hpp"

namespace tigerfans::tb_floor {

std::size_t requests_for(const ProbeOptions& options, std::uint32_t transfers) {
    TF_ASSERT_GT(transfers, 0U);
    const std::uint64_t within = options.size_transfers_max / transfers;
    return std::min<std::uint64_t>(options.repetitions,
                                   std::max<std::uint64_t>(within, repetitions_min));
}

namespace {

namespace asio = boost::asio;
namespace abi = accounting::tb::abi;
using accounting::tb::Client;
using Clock = std::chrono::steady_clock;

constexpr std::uint16_t probe_code = 1;
constexpr std::uint32_t transfers_per_ticket = 2;  // The ticket's hold and the goodie's.
constexpr std::uint32_t hold_timeout_s = 300;
constexpr std::size_t warm_up_requests = 10;
constexpr std::uint32_t warm_up_batch = 10;

// The probe's two accounts and its ledger: every transfer moves 1 from one to the other, with
// a fresh time-based id.
class ProbeTransfers {
public:
    ProbeTransfers(u128 debit, u128 credit, std::uint32_t ledger)
        : debit_(debit), credit_(credit), ledger_(ledger) {}

    abi::Transfer next() {
        abi::Transfer transfer{};
        transfer.id = ids_.next();
        transfer.debit_account_id = debit_;
        transfer.credit_account_id = credit_;
        transfer.amount = 1;
        transfer.ledger = ledger_;
        transfer.code = probe_code;
        return transfer;
    }

    // `count` posted transfers.
    std::vector<abi::Transfer> next(std::uint32_t count) {
        std::vector<abi::Transfer> transfers;
        transfers.reserve(count);
        for (std::uint32_t i = 0; i < count; i++) transfers.push_back(next());
        return transfers;
    }

private:
    IdGenerator ids_;
    u128 debit_;
    u128 credit_;
    std::uint32_t ledger_;
};

// The ticket mix's requests: each holds the next tickets (pending transfers with a timeout and
// a random order id, as checkout's holds) and posts the holds of the request before it.
class TicketSource {
public:
    TicketSource(u128 debit, u128 credit, std::uint32_t ledger)
        : transfers_(debit, credit, ledger) {}

    // `tickets` new tickets' holds after the posts of the previous call's; 0 posts only.
    std::vector<abi::Transfer> next(std::uint32_t tickets) {
        std::vector<abi::Transfer> transfers;
        for (const u128 hold_id : held_) {
            abi::Transfer post = transfers_.next();
            post.pending_id = hold_id;
            post.flags = abi::transfer_flags::post_pending_transfer;
            transfers.push_back(post);
        }
        held_.clear();
        for (std::uint32_t i = 0; i < tickets * transfers_per_ticket; i++) {
            abi::Transfer hold = transfers_.next();
            hold.flags = abi::transfer_flags::pending;
            hold.timeout_s = hold_timeout_s;
            hold.user_data_128 = random_u128();
            held_.push_back(hold.id);
            transfers.push_back(hold);
        }
        return transfers;
    }

private:
    ProbeTransfers transfers_;
    std::vector<u128> held_;
};

Latencies summarise(std::vector<double> ms) {
    if (ms.empty()) return {};
    std::sort(ms.begin(), ms.end());
    const auto rank = [&ms](double quantile) {
        const auto index = static_cast<std::size_t>(std::ceil(quantile * ms.size()));
        return ms[std::clamp<std::size_t>(index, 1, ms.size()) - 1];
    };
    return Latencies{rank(0.5), rank(0.99), ms.front(), ms.back()};
}

// Empty when every result says created; otherwise what went wrong.
std::string check_created(std::span<const std::byte> reply, std::size_t count) {
    std::vector<abi::CreateResult> results;
    if (!accounting::tb::decode_records(reply, count, results)) {
        return std::to_string(reply.size()) + " reply bytes for " + std::to_string(count) +
               " events";
    }
    const auto failed = std::count_if(results.begin(), results.end(), [](const auto& result) {
        return result.status != abi::create_transfer_status::created;
    });
    if (failed == 0) return {};
    const auto first = std::find_if(results.begin(), results.end(), [](const auto& result) {
        return result.status != abi::create_transfer_status::created;
    });
    return std::to_string(failed) + " of " + std::to_string(count) +
           " events not created (first status " + std::to_string(first->status) + ")";
}

struct Sent {
    double ms = 0;
    bool refused = false;  // TOO_MUCH_DATA.
    std::string error;
};

// One create_transfers request, timed from submit to the completion on the loop.
asio::awaitable<Sent> send(Client& client, std::span<const abi::Transfer> transfers,
                           std::vector<std::byte>& reply) {
    const auto started = Clock::now();
    const Result<abi::PacketStatus> status =
        co_await client.request(abi::Operation::create_transfers, std::as_bytes(transfers), reply);
    Sent sent;
    sent.ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    if (!status) {
        sent.error = "create_transfers: " + std::string(fault_name(status.fault()));
    } else if (*status == abi::PacketStatus::too_much_data) {
        sent.refused = true;
    } else if (*status != abi::PacketStatus::ok) {
        sent.error = "create_transfers: packet status " + std::to_string(int(*status));
    } else {
        sent.error = check_created(reply, transfers.size());
    }
    co_return sent;
}

asio::awaitable<std::string> create_probe_accounts(Client& client, u128 debit, u128 credit,
                                                   std::uint32_t ledger) {
    abi::Account accounts[2] = {};
    accounts[0].id = debit;
    accounts[1].id = credit;
    for (abi::Account& account : accounts) {
        account.ledger = ledger;
        account.code = probe_code;
    }
    const accounting::tb::RequestMetrics unmeasured;
    const auto created = co_await accounting::tb::create_accounts(client, unmeasured, accounts);
    if (!created) co_return "create_accounts: " + std::string(fault_name(created.fault()));
    for (const abi::CreateResult& result : *created) {
        if (result.status != abi::create_account_status::created) {
            co_return "create_accounts: status " + std::to_string(result.status);
        }
    }
    co_return std::string();
}

asio::awaitable<RoundTrip> round_trip(Client& client, ProbeTransfers& source,
                                      std::uint32_t transfers, std::size_t repetitions,
                                      std::string& error) {
    RoundTrip row;
    row.transfers = transfers;
    std::vector<double> ms;
    std::vector<std::byte> reply;
    for (std::size_t i = 0; i < repetitions && error.empty(); i++) {
        const std::vector<abi::Transfer> batch = source.next(transfers);
        const Sent sent = co_await send(client, batch, reply);
        row.refused = sent.refused;
        if (row.refused) break;
        error = sent.error;
        if (error.empty()) ms.push_back(sent.ms);
    }
    row.requests = ms.size();
    row.latency = summarise(std::move(ms));
    co_return row;
}

// Requests shared by the workers of one in-flight level.
struct Workload {
    explicit Workload(asio::any_io_executor executor) : all_done(executor) {}

    std::size_t requests_left = 0;
    std::size_t workers_left = 0;
    std::vector<double> ms;
    std::string error;
    asio::steady_timer all_done;
};

asio::awaitable<void> worker(Client& client, ProbeTransfers& source, std::uint32_t batch,
                             Workload& work) {
    std::vector<std::byte> reply;
    while (work.requests_left > 0 && work.error.empty()) {
        work.requests_left--;
        const std::vector<abi::Transfer> transfers = source.next(batch);
        const Sent sent = co_await send(client, transfers, reply);
        if (sent.refused) work.error = "a batch of " + std::to_string(batch) + " was refused";
        if (!sent.error.empty()) work.error = sent.error;
        if (work.error.empty()) work.ms.push_back(sent.ms);
    }
    if (--work.workers_left == 0) work.all_done.cancel();
}

asio::awaitable<Throughput> throughput(Client& client, ProbeTransfers& source,
                                       std::size_t in_flight, const ProbeOptions& options,
                                       std::string& error) {
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    Workload work(executor);
    work.requests_left = options.throughput_requests;
    work.workers_left = in_flight;
    work.all_done.expires_at(asio::steady_timer::time_point::max());
    const auto started = Clock::now();
    for (std::size_t i = 0; i < in_flight; i++) {
        asio::co_spawn(executor, worker(client, source, options.throughput_batch, work),
                       asio::detached);
    }
    while (work.workers_left > 0) {
        boost::system::error_code ignored;
        co_await work.all_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    Throughput row;
    row.in_flight = in_flight;
    row.batch = options.throughput_batch;
    row.requests = work.ms.size();
    row.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
    row.transfers_per_s = static_cast<double>(row.requests * row.batch) / row.wall_s;
    row.latency = summarise(std::move(work.ms));
    error = std::move(work.error);
    co_return row;
}

// One request in flight, each one's posts depending on the holds of the one before, as the
// flow's do; the last request only posts.
asio::awaitable<TicketMix> ticket_mix(Client& client, TicketSource& source,
                                      const ProbeOptions& options, std::string& error) {
    TicketMix row;
    row.tickets_per_request = options.tickets_per_request;
    std::vector<double> ms;
    std::vector<std::byte> reply;
    const auto started = Clock::now();
    for (std::size_t i = 0; i <= options.ticket_requests && error.empty(); i++) {
        const std::uint32_t tickets = i < options.ticket_requests ? options.tickets_per_request : 0;
        const std::vector<abi::Transfer> transfers = source.next(tickets);
        const Sent sent = co_await send(client, transfers, reply);
        if (sent.refused) error = "a ticket-mix request was refused";
        if (!sent.error.empty()) error = "ticket mix: " + sent.error;
        if (error.empty()) ms.push_back(sent.ms);
    }
    row.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
    row.requests = ms.size();
    if (error.empty()) {
        row.tickets = options.ticket_requests * options.tickets_per_request;
        row.tickets_per_s = static_cast<double>(row.tickets) / row.wall_s;
    }
    row.latency = summarise(std::move(ms));
    co_return row;
}

// Empty when the ledger agrees with the report: every hold of the mix posted, none pending.
asio::awaitable<std::string> check_posted(Client& client, u128 debit, std::size_t tickets) {
    const accounting::tb::RequestMetrics unmeasured;
    const u128 ids[1] = {debit};
    const auto found = co_await accounting::tb::lookup_accounts(client, unmeasured, ids);
    if (!found) co_return "lookup_accounts: " + std::string(fault_name(found.fault()));
    if (found->size() != 1) co_return "lookup_accounts: the probe's account is missing";
    const abi::Account& account = found->front();
    const u128 expected = u128{tickets} * transfers_per_ticket;
    if (account.debits_posted != expected || account.debits_pending != 0) {
        co_return "ticket mix: the ledger has " + u128_to_decimal(account.debits_posted) +
            " posted and " + u128_to_decimal(account.debits_pending) + " pending, expected " +
            u128_to_decimal(expected) + " posted";
    }
    co_return std::string();
}

}  // namespace

asio::awaitable<ProbeReport> run_probe(Client& client, ProbeOptions options) {
    ProbeReport report;
    IdGenerator ids;
    const u128 debit = ids.next();
    const u128 credit = ids.next();
    report.error = co_await create_probe_accounts(client, debit, credit, options.ledger);
    if (options.on_first_answer) options.on_first_answer();
    if (!report.error.empty()) co_return report;
    if (options.ticket_requests > 0) {
        TicketSource tickets(debit, credit, options.ledger);
        report.tickets = co_await ticket_mix(client, tickets, options, report.error);
        if (report.error.empty()) {
            report.error = co_await check_posted(client, debit, report.tickets->tickets);
        }
        if (!report.error.empty()) report.tickets->tickets_per_s = 0;
        co_return report;
    }
    ProbeTransfers source(debit, credit, options.ledger);
    co_await round_trip(client, source, warm_up_batch, warm_up_requests, report.error);
    for (const std::uint32_t transfers : options.batch_sizes) {
        if (!report.error.empty()) co_return report;
        report.round_trips.push_back(co_await round_trip(
            client, source, transfers, requests_for(options, transfers), report.error));
    }
    for (const std::size_t in_flight : options.in_flight) {
        if (!report.error.empty()) co_return report;
        report.throughputs.push_back(
            co_await throughput(client, source, in_flight, options, report.error));
    }
    co_return report;
}

}  // namespace tigerfans::tb_floor

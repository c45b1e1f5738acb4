// MockPay, the simulated payment provider inside the server: a payment page with three
// buttons, and an emit endpoint that builds the provider's event, writes it to its outbox
// (PostgreSQL), signs the exact body with HMAC-SHA256 and delivers it to the webhook URL before
// redirecting the fan; a delivered event leaves the outbox after that answer. What could not be
// delivered then is redelivered from the outbox in the background, with growing pauses, until
// the shop takes it, across restarts.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "tigerfans/config/config.hpp"
#include "tigerfans/core/background_tasks.hpp"
#include "tigerfans/http/client.hpp"
#include "tigerfans/http/router.hpp"
#include "tigerfans/http/templates.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/mockpay/event.hpp"
#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::mockpay {

class Outbox;
struct OutboxEvent;

// Where the fan goes after the button: success page, or back to checkout with the outcome.
std::string redirect_after(PaymentOutcome outcome, std::string_view order_id);

// Whether the shop's answer with this HTTP status settles a delivery: it took the event (2xx)
// or refused it for good (4xx other than 409). Anything else is tried again later, a redirect
// too: the delivery follows none, so a 3xx says nothing of the event.
bool settles_delivery(unsigned status);

class MockPay {
public:
    // `background` runs what an emit leaves for after its answer (the outbox's removal of a
    // delivered event); it must outlive this.
    MockPay(boost::asio::any_io_executor executor, const config::Config& config,
            sessions::SessionStore& sessions, const http::Templates& templates,
            metrics::Registry& registry, BackgroundTasks& background);
    ~MockPay();

    // MockPay's route table: the payment page and its buttons' endpoint.
    http::Routes routes();

    // Creates the outbox table and starts redelivering what earlier runs left in it. When the
    // table cannot be made now, the redelivery loop tries again later (1 s, then pauses
    // doubling up to a minute).
    boost::asio::awaitable<Status> start();
    // Ends the redelivery loop (an attempt in flight finishes first).
    boost::asio::awaitable<void> stop();

    // The latest `limit` payments given up on, newest first.
    boost::asio::awaitable<Result<std::vector<UndeliveredEvent>>> undelivered_payments(
        std::size_t limit);

private:
    boost::asio::awaitable<http::Response> page(http::Request& request);
    boost::asio::awaitable<http::Response> emit(http::Request& request);
    // Posts the signed body up to `attempts` times; the last answer, or the fault.
    boost::asio::awaitable<Result<http::ClientResponse>> deliver(const std::string& body,
                                                                 int attempts);
    boost::asio::awaitable<void> settle_delivery(const std::string& event_key,
                                                 const Result<http::ClientResponse>& reply);
    // The outbox forgets a delivered event. `event_key` is a copy: this runs after the answer.
    boost::asio::awaitable<void> forget_delivered(std::string event_key);
    boost::asio::awaitable<void> redelivery_loop();
    // One wave; whether the next should follow at once (a full claim some delivery of which
    // settled).
    boost::asio::awaitable<bool> redeliver_due();
    // One attempt at a claimed event, settled by its answer; whether it settled.
    boost::asio::awaitable<bool> redeliver(OutboxEvent event);

    const config::Config& config_;
    sessions::SessionStore& sessions_;
    const http::Templates& templates_;
    BackgroundTasks& background_;
    http::HttpUrl webhook_url_;
    std::unique_ptr<http::Client> webhook_client_;
    std::unique_ptr<Outbox> outbox_;
    boost::asio::steady_timer redelivery_timer_;
    bool stopping_ = false;
    bool loop_running_ = false;
    bool outbox_started_ = false;
    metrics::Counter& deliveries_failed_;
    metrics::Counter& deliveries_deferred_;
    metrics::Counter& redeliveries_;
};

}  // namespace tigerfans::mockpay

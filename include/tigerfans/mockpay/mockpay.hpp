// MockPay, the simulated payment provider inside the server: a payment page with three
// buttons, and an emit endpoint that builds the provider's event, signs the exact body with
// HMAC-SHA256 and delivers it to the webhook URL before redirecting the fan.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "tigerfans/config/config.hpp"
#include "tigerfans/flows/webhook.hpp"
#include "tigerfans/http/client.hpp"
#include "tigerfans/http/router.hpp"
#include "tigerfans/http/templates.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::mockpay {

// The event body exactly as it is signed and sent.
std::string event_json(const sessions::PaymentSession& session, flows::PaymentOutcome outcome,
                       std::string_view event_key, std::int64_t created_at_s);
// Base64 of HMAC-SHA256(secret, body): the x-mockpay-signature header.
std::string signature(std::string_view secret, std::string_view body);

// Where the fan goes after the button: success page, or back to checkout with the outcome.
std::string redirect_after(flows::PaymentOutcome outcome, std::string_view order_id);

class MockPay {
public:
    MockPay(boost::asio::any_io_executor executor, const config::Config& config,
            sessions::SessionStore& sessions, const http::Templates& templates,
            metrics::Registry& registry);
    ~MockPay();

    void add_routes(http::Router& router);

private:
    boost::asio::awaitable<http::Response> page(http::Request& request);
    boost::asio::awaitable<http::Response> emit(http::Request& request);
    boost::asio::awaitable<Result<http::ClientResponse>> deliver(std::string body,
                                                                 std::string signed_with);

    const config::Config& config_;
    sessions::SessionStore& sessions_;
    const http::Templates& templates_;
    http::HttpUrl webhook_url_;
    std::unique_ptr<http::Client> webhook_client_;
    metrics::Counter& deliveries_failed_;
};

}  // namespace tigerfans::mockpay

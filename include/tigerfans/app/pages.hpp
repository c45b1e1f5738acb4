// The fan-facing pages: landing, waiting room, checkout and success (the MockPay page lives in
// mockpay/, the admin pages in admin/).
#pragma once

#include "tigerfans/config/config.hpp"
#include "tigerfans/http/router.hpp"
#include "tigerfans/http/templates.hpp"
#include "tigerfans/orders/order_store.hpp"

namespace tigerfans::app {

// What the pages read: the configuration, the orders (a ticket's QR code) and the templates.
struct PagesContext {
    const config::Config& config;
    orders::OrderStore& orders;
    const http::Templates& templates;
};

// The pages' route table.
http::Routes page_routes(const PagesContext& context);

}  // namespace tigerfans::app

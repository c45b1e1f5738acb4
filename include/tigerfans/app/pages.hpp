// The fan-facing pages: landing, checkout and success (the MockPay page lives in mockpay/,
// the admin pages in admin/).
#pragma once

#include "tigerfans/flows/services.hpp"
#include "tigerfans/http/router.hpp"
#include "tigerfans/http/templates.hpp"

namespace tigerfans::app {

void add_page_routes(http::Router& router, flows::Services& services,
                     const http::Templates& templates);

}  // namespace tigerfans::app

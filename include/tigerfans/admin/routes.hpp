// The admin area: login form, logout, the dashboard page and its JSON feeds (last orders,
// goodies used, the refund list, the reconciler's last report; a POST runs a pass now), the
// live view's samples and the admission controls. Pages redirect to the login form without a
// session; JSON answers 401.
#pragma once

#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/admin/auth.hpp"
#include "tigerfans/admin/live.hpp"
#include "tigerfans/admin/login_throttle.hpp"
#include "tigerfans/config/config.hpp"
#include "tigerfans/flows/reconcile.hpp"
#include "tigerfans/http/router.hpp"
#include "tigerfans/http/templates.hpp"
#include "tigerfans/mockpay/mockpay.hpp"
#include "tigerfans/orders/order_store.hpp"
#include "tigerfans/queue/admission_control.hpp"

namespace tigerfans::admin {

// What the admin area works with: its login, the orders and the ledger it reads (recent orders,
// the refund list, goodies used), the reconciler it reports on and runs, the admission an
// operator pauses and paces, and the live view's samples.
struct AdminContext {
    Auth& auth;
    LoginThrottle& login_throttle;
    const config::Config& config;
    orders::OrderStore& orders;
    accounting::Ledger& ledger;
    flows::Reconciler& reconciler;
    const http::Templates& templates;
    queue::AdmissionControl& admission;
    const LiveSampler& live;
    mockpay::MockPay& mockpay;  // For the payments it gave up delivering.
};

// The admin area's route table.
http::Routes admin_routes(const AdminContext& context);

}  // namespace tigerfans::admin

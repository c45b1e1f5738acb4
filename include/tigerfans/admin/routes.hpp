// The admin area: login form, logout, the dashboard page and its JSON feeds (last orders,
// goodies used, the refund list, the reconciler's last report; a POST runs a pass now). Pages
// redirect to the login form without a session; JSON answers 401.
#pragma once

#include "tigerfans/admin/auth.hpp"
#include "tigerfans/admin/login_throttle.hpp"
#include "tigerfans/flows/reconcile.hpp"
#include "tigerfans/flows/services.hpp"
#include "tigerfans/http/router.hpp"
#include "tigerfans/http/templates.hpp"

namespace tigerfans::admin {

struct AdminContext {
    Auth& auth;
    LoginThrottle& login_throttle;
    flows::Services& services;
    flows::Reconciler& reconciler;
    const http::Templates& templates;
};

void add_admin_routes(http::Router& router, const AdminContext& context);

}  // namespace tigerfans::admin

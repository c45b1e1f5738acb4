// Admin authentication: a signed session cookie (user, expiry, a random nonce, HMAC-SHA256 with
// SESSION_SECRET; HttpOnly, SameSite=Lax) set by the login form, or HTTP Basic credentials.
// Credentials are compared in constant time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tigerfans/admin/login_throttle.hpp"
#include "tigerfans/http/message.hpp"

namespace tigerfans::admin {

inline constexpr std::string_view cookie_name = "tf_admin";

class Auth {
public:
    // With a `throttle`, HTTP Basic credentials count against it as the login form's do: a
    // wrong pair is a failure, and while the address or the user name is blocked even the
    // right pair is refused, so guessing through any admin API is as slow as through the form.
    Auth(std::string username, std::string password, std::string session_secret,
         LoginThrottle* throttle = nullptr);

    bool credentials_match(std::string_view username, std::string_view password) const;

    // A cookie value for `username` valid until `expires_unix_s`.
    std::string issue_token(std::string_view username, std::int64_t expires_unix_s) const;
    // The user name when the token is genuine and not expired at `now_unix_s`.
    std::optional<std::string> verify_token(std::string_view token, std::int64_t now_unix_s) const;

    // The signed cookie (not logged out) or valid HTTP Basic credentials (not throttled).
    bool is_admin(const http::Request& request) const;

    // Logout: the request's session cookie is refused from now on, until it would have expired
    // anyway. Kept in this process's memory (one process serves a sale today).
    void revoke(const http::Request& request);

    // Set-Cookie values; `secure`: the browser sends the cookie over HTTPS only.
    std::string login_cookie(std::string_view username, bool secure) const;
    static std::string logout_cookie(bool secure);

private:
    std::string signature_of(std::string_view payload) const;
    bool basic_credentials_pass(const http::Request& request) const;
    bool revoked(std::string_view token) const;

    std::string username_;
    std::string password_;
    std::string session_secret_;
    LoginThrottle* throttle_;                                        // Not owned; may be null.
    std::unordered_map<std::string, std::int64_t> revoked_until_s_;  // Token -> its expiry.
};

// A post-login target that stays on this site: a path starting with '/' but not "//".
std::string safe_next(std::string_view next);

}  // namespace tigerfans::admin

// Admin authentication: a signed session cookie (user, expiry, HMAC-SHA256 with
// SESSION_SECRET; HttpOnly, SameSite=Lax) set by the login form, or HTTP Basic credentials.
// Credentials are compared in constant time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tigerfans/http/message.hpp"

namespace tigerfans::admin {

inline constexpr std::string_view cookie_name = "tf_admin";

class Auth {
public:
    Auth(std::string username, std::string password, std::string session_secret);

    bool credentials_match(std::string_view username, std::string_view password) const;

    // A cookie value for `username` valid until `expires_unix_s`.
    std::string issue_token(std::string_view username, std::int64_t expires_unix_s) const;
    // The user name when the token is genuine and not expired at `now_unix_s`.
    std::optional<std::string> verify_token(std::string_view token, std::int64_t now_unix_s) const;

    // The signed cookie or valid HTTP Basic credentials.
    bool is_admin(const http::Request& request) const;

    std::string login_cookie(std::string_view username) const;  // Set-Cookie value
    static std::string logout_cookie();

private:
    std::string signature_of(std::string_view payload) const;

    std::string username_;
    std::string password_;
    std::string session_secret_;
};

// The value of cookie `name` in a Cookie header, if present.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

// A post-login target that stays on this site: a path starting with '/' but not "//".
std::string safe_next(std::string_view next);

}  // namespace tigerfans::admin

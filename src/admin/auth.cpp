// Admin session cookies and HTTP Basic checks.
#include "tigerfans/admin/auth.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <system_error>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/core/ids.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::admin {

namespace {
std::int64_t now_unix_s() { return unix_now_us() / 1'000'000; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    return text;
}
}  // namespace

Auth::Auth(std::string username, std::string password, std::string session_secret,
           LoginThrottle* throttle)
    : username_(std::move(username)),
      password_(std::move(password)),
      session_secret_(std::move(session_secret)),
      throttle_(throttle) {}

bool Auth::credentials_match(std::string_view username, std::string_view password) const {
    // Both comparisons always run, so timing tells nothing about which one failed.
    const bool user_ok = constant_time_equal(hmac_sha256(session_secret_, username),
                                             hmac_sha256(session_secret_, username_));
    const bool password_ok = constant_time_equal(hmac_sha256(session_secret_, password),
                                                 hmac_sha256(session_secret_, password_));
    return user_ok && password_ok;
}

std::string Auth::signature_of(std::string_view payload) const {
    return base64url_encode(hmac_sha256(session_secret_, payload));
}

// 128 random bits make every login's token its own: revoking one (a logout) never revokes
// another login of the same user within the same second.
std::string Auth::issue_token(std::string_view username, std::int64_t expires_unix_s) const {
    std::string nonce(16, '\0');
    random_fill(nonce.data(), nonce.size());
    const std::string payload = base64url_encode(username) + "." + std::to_string(expires_unix_s) +
                                "." + base64url_encode(nonce);
    return payload + "." + signature_of(payload);
}

std::optional<std::string> Auth::verify_token(std::string_view token,
                                              std::int64_t now_unix_s) const {
    const std::size_t last_dot = token.rfind('.');
    if (last_dot == std::string_view::npos) return std::nullopt;
    const std::string_view payload = token.substr(0, last_dot);
    if (!constant_time_equal(signature_of(payload), token.substr(last_dot + 1))) {
        return std::nullopt;
    }
    const std::size_t dot = payload.find('.');
    const std::size_t nonce_dot = payload.find('.', dot == std::string_view::npos ? dot : dot + 1);
    if (nonce_dot == std::string_view::npos) return std::nullopt;
    const std::string_view expires_text = payload.substr(dot + 1, nonce_dot - dot - 1);
    std::int64_t expires = 0;
    const auto [end, error] =
        std::from_chars(expires_text.data(), expires_text.data() + expires_text.size(), expires);
    if (error != std::errc{} || end != expires_text.data() + expires_text.size()) {
        return std::nullopt;
    }
    if (expires <= now_unix_s) return std::nullopt;
    auto user = base64url_decode(payload.substr(0, dot));
    if (!user || *user != username_) return std::nullopt;
    return user;
}

bool Auth::revoked(std::string_view token) const {
    return revoked_until_s_.contains(std::string(token));
}

// Every valid session cookie the request carries is revoked: a logout ends them all.
void Auth::revoke(const http::Request& request) {
    const std::int64_t now_s = now_unix_s();
    std::erase_if(revoked_until_s_, [now_s](const auto& entry) { return entry.second <= now_s; });
    http::find_cookie(request, cookie_name, [&](std::string_view token) {
        // The token's own expiry bounds how long it must be remembered.
        if (verify_token(token, now_s)) {
            revoked_until_s_[std::string(token)] = now_s + limits::admin_session_ttl_s;
        }
        return false;
    });
}

bool Auth::is_admin(const http::Request& request) const {
    const std::int64_t now_s = now_unix_s();
    const bool by_cookie = http::find_cookie(request, cookie_name, [&](std::string_view token) {
        return verify_token(token, now_s) && !revoked(token);
    });
    return by_cookie || basic_credentials_pass(request);
}

// A malformed header counts as a failure too: it is a guess like any other.
bool Auth::basic_credentials_pass(const http::Request& request) const {
    const std::string_view authorization = request.header("Authorization");
    constexpr std::string_view basic = "Basic ";
    if (!authorization.starts_with(basic)) return false;
    const std::optional<std::string> decoded =
        base64_decode(trim(authorization.substr(basic.size())));
    const std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
    const std::string_view pair = decoded ? std::string_view(*decoded) : std::string_view();
    const std::string_view user = colon == std::string::npos ? pair : pair.substr(0, colon);
    const std::int64_t now_us = steady_now_us();  // The throttle's clock.
    const std::string& address = request.remote_address;
    if (throttle_ && throttle_->wait_s(address, user, now_us) > 0) return false;
    const bool match =
        colon != std::string::npos && credentials_match(user, pair.substr(colon + 1));
    if (throttle_ && match) throttle_->succeeded(address, user, now_us);
    if (throttle_ && !match) throttle_->failed(address, user, now_us);
    return match;
}

std::string Auth::login_cookie(std::string_view username, bool secure) const {
    TF_ASSERT_EQ(username, username_);  // Issued only after credentials_match.
    const std::int64_t ttl_s = limits::admin_session_ttl_s;
    return http::set_cookie(cookie_name, issue_token(username, now_unix_s() + ttl_s), ttl_s,
                            {.http_only = true, .secure = secure});
}

std::string Auth::logout_cookie(bool secure) {
    return http::set_cookie(cookie_name, "", 0, {.http_only = true, .secure = secure});
}

// Only "/" followed by a character that cannot start another host: not "/", not "\\" and
// nothing a browser drops (controls, spaces), which would turn "/\t/evil" into "//evil". No
// control character anywhere, so nothing can split the Location header either.
std::string safe_next(std::string_view next) {
    const auto control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; };
    const bool root = next == "/";
    const bool local = next.size() >= 2 && next[0] == '/' && next[1] != '/' && next[1] != '\\' &&
                       next[1] != ' ' && std::none_of(next.begin(), next.end(), control);
    std::string safe = root || local ? std::string(next) : std::string("/admin");
    TF_ASSERT(safe.starts_with('/'));
    return safe;
}

}  // namespace tigerfans::admin

// Fuzz target: admission tokens (queue/admission_token.hpp). Any text is checked without harm;
// the input is also checked with a genuine signature appended to its text before the last dot,
// so that the fields' checks behind the signature are reached too. A token that passes names a
// valid admission and is exactly the token the server issues for it; a genuine token is never
// called forged, and is expired exactly from its expiry on.
#include <cstdint>
#include <string>
#include <string_view>

#include "require.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/queue/admission_token.hpp"

namespace {

using namespace tigerfans::queue;
using tigerfans::fuzz::require;

const std::string key = admission_key("fuzz-secret");

void check_accepted(std::string_view token, const TokenCheck& check, std::int64_t now_s) {
    const Admission& admission = *check.admission;
    require(admission.issued_s < admission.expires_s, "a valid admission expires after issue");
    require(now_s < admission.expires_s, "a valid admission has not expired");
    require(admission.tickets >= 1 && admission.tickets <= admission_tickets_max,
            "a valid admission allows 1 to the most tickets");
    require(issue_token(key, admission) == token, "a valid token is the one issued for it");
    const TokenCheck at_expiry = verify_token(key, token, admission.expires_s);
    require(!at_expiry.ok() && at_expiry.refusal == TokenRefusal::expired,
            "a token is expired from its expiry on");
}

void check(std::string_view token, std::int64_t now_s, bool genuine) {
    const TokenCheck result = verify_token(key, token, now_s);
    if (result.ok()) {
        check_accepted(token, result, now_s);
        return;
    }
    require(!token.empty() || result.refusal == TokenRefusal::missing, "empty means missing");
    require(result.refusal != TokenRefusal::used_up, "only the store says used up");
    require(!genuine || result.refusal != TokenRefusal::forged, "a genuine token is not forged");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    // Tokens of 2023 to 2033 are the interesting ones: the seeds' times lie in between.
    const std::int64_t now_s = 1'700'000'000 + static_cast<std::int64_t>(size % 64) * 5'000'000;
    check(input, now_s, false);
    const std::size_t dot = input.rfind('.');
    if (dot == std::string_view::npos) return 0;
    const std::string payload(input.substr(0, dot));
    const std::string signed_token =
        payload + "." + tigerfans::base64url_encode(tigerfans::hmac_sha256(key, payload));
    check(signed_token, now_s, true);
    return 0;
}

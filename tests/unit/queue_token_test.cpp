// Admission tokens: a round trip, the refusals in the order they are checked (missing,
// malformed, forged, expired), every field bound by the signature, a key of their own, and
// malformed and random texts of every kind refused without harm.
#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <vector>

#include "tigerfans/core/crypto.hpp"
#include "tigerfans/queue/admission_token.hpp"

namespace tigerfans::queue {
namespace {

const std::string entry = "0123456789abcdef0123456789abcdef";
const std::string other_entry = "fedcba9876543210fedcba9876543210";
constexpr std::int64_t now_s = 1'764'000'000;

std::string key() { return admission_key("test-secret"); }

// The token as its five fields and the signature over them, with `field` replaced by `text`.
std::string with_field(const std::string& token, std::size_t field, const std::string& text) {
    std::vector<std::string> parts;
    std::size_t begin = 0;
    for (std::size_t dot = token.find('.'); dot != std::string::npos;
         dot = token.find('.', begin)) {
        parts.push_back(token.substr(begin, dot - begin));
        begin = dot + 1;
    }
    parts.push_back(token.substr(begin));
    parts.at(field) = text;
    std::string joined;
    for (const std::string& part : parts) joined += (joined.empty() ? "" : ".") + part;
    return joined;
}

TEST(AdmissionToken, RoundTripsItsFieldsUntilItExpires) {
    const Admission admission = admit(entry, now_s, 600, 4);
    const std::string token = issue_token(key(), admission);
    const TokenCheck check = verify_token(key(), token, now_s);
    ASSERT_TRUE(check.ok()) << refusal_name(check.refusal);
    EXPECT_EQ(check.admission->entry_id, entry);
    EXPECT_EQ(check.admission->issued_s, now_s);
    EXPECT_EQ(check.admission->expires_s, now_s + 600);
    EXPECT_EQ(check.admission->tickets, 4u);
    EXPECT_TRUE(verify_token(key(), token, now_s + 599).ok());
    EXPECT_EQ(verify_token(key(), token, now_s + 600).refusal, TokenRefusal::expired);
}

// Safe in a URL, a header and a cookie as it is.
TEST(AdmissionToken, NeedsNoEscaping) {
    const std::string token = issue_token(key(), admit(entry, now_s, 600, 1000));
    EXPECT_LE(token.size(), admission_token_bytes_max);
    for (char c : token) {
        const bool plain =
            std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
        EXPECT_TRUE(plain) << token;
    }
}

TEST(AdmissionToken, AnEmptyTokenIsMissing) {
    EXPECT_EQ(verify_token(key(), "", now_s).refusal, TokenRefusal::missing);
    EXPECT_FALSE(verify_token(key(), "", now_s).ok());
}

TEST(AdmissionToken, AnotherKeysSignatureIsForged) {
    const std::string token = issue_token(admission_key("other"), admit(entry, now_s, 600, 4));
    EXPECT_EQ(verify_token(key(), token, now_s).refusal, TokenRefusal::forged);
}

// The key is derived from the secret under a label: the secret itself signs nothing valid.
TEST(AdmissionToken, TheSecretItselfIsNotTheKey) {
    const std::string token = issue_token("test-secret", admit(entry, now_s, 600, 4));
    EXPECT_EQ(verify_token(key(), token, now_s).refusal, TokenRefusal::forged);
    EXPECT_NE(key(), "test-secret");
    EXPECT_EQ(key().size(), 32u);
}

// Each field, changed to another well-formed value, breaks the signature; the check for the
// signature comes before the expiry, so a later expiry gains nothing either.
TEST(AdmissionToken, EveryFieldIsBoundByTheSignature) {
    const std::string token = issue_token(key(), admit(entry, now_s, 600, 4));
    const std::vector<std::pair<std::size_t, std::string>> changes = {
        {1, other_entry},
        {2, std::to_string(now_s - 1)},
        {3, std::to_string(now_s + 6000)},
        {4, "5"},
        {4, "1000"}};
    for (const auto& [field, text] : changes) {
        const std::string tampered = with_field(token, field, text);
        EXPECT_EQ(verify_token(key(), tampered, now_s).refusal, TokenRefusal::forged) << tampered;
    }
    std::string signature_changed = token;
    signature_changed[signature_changed.size() - 5] =
        signature_changed[signature_changed.size() - 5] == 'A' ? 'B' : 'A';
    EXPECT_EQ(verify_token(key(), signature_changed, now_s).refusal, TokenRefusal::forged);
}

TEST(AdmissionToken, MalformedTokensOfEveryKindAreRefused) {
    const std::string token = issue_token(key(), admit(entry, now_s, 600, 4));
    const std::string signature = token.substr(token.rfind('.') + 1);
    const std::string fields = "v1." + entry + ".1764000000.1764000600.4.";
    const std::vector<std::string> malformed = {
        ".",
        ".....",
        "v1",
        token + ".",
        token + ".x",
        token.substr(0, token.rfind('.')),  // No signature.
        with_field(token, 0, "v2"),
        with_field(token, 0, ""),
        with_field(token, 1, "0123456789ABCDEF0123456789ABCDEF"),
        with_field(token, 1, entry.substr(1)),
        with_field(token, 1, ""),
        with_field(token, 2, "01764000000"),  // A leading zero.
        with_field(token, 2, "-1"),
        with_field(token, 2, "+1764000000"),
        with_field(token, 2, " 1764000000"),
        with_field(token, 2, ""),
        with_field(token, 3, "99999999999999999999"),  // Beyond int64.
        with_field(token, 3, "9223372036854775808"),
        with_field(token, 3, "1764000000"),  // Expires when issued.
        with_field(token, 3, "1.5"),
        with_field(token, 4, "0"),
        with_field(token, 4, "1001"),
        with_field(token, 4, "4x"),
        fields + signature.substr(1),        // 42 characters.
        fields + signature + "A",            // 44 characters.
        fields + "=" + signature.substr(1),  // Not base64url.
        fields + "+" + signature.substr(1),
        fields + std::string(43, '*'),
        token.substr(0, 10) + std::string(1, '\0') + token.substr(11),
        token + std::string(200, 'A'),
        std::string(admission_token_bytes_max + 1, '.'),
        "\xff\xfe\xfd",
        " " + token,
    };
    for (const std::string& text : malformed) {
        EXPECT_EQ(verify_token(key(), text, now_s).refusal, TokenRefusal::malformed) << text;
    }
}

// Random texts from a token's own alphabet, and every prefix and one-character change of a
// real token: none passes, none harms (the sanitizer builds watch the reads).
TEST(AdmissionToken, NoRandomOrMutatedTextPasses) {
    const std::string token = issue_token(key(), admit(entry, now_s, 600, 4));
    std::mt19937_64 random(99);
    const std::string alphabet = "v1.0123456789abcdef-_ABZxyz=+/ \t\n";
    std::uniform_int_distribution<std::size_t> length(0, admission_token_bytes_max + 10);
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    for (int i = 0; i < 20'000; i++) {
        std::string text(length(random), ' ');
        for (char& c : text) c = alphabet[pick(random)];
        ASSERT_FALSE(verify_token(key(), text, now_s).ok()) << text;
    }
    for (std::size_t size = 0; size < token.size(); size++) {
        ASSERT_FALSE(verify_token(key(), token.substr(0, size), now_s).ok()) << size;
    }
    for (std::size_t at = 0; at < token.size(); at++) {
        for (char c : alphabet) {
            std::string changed = token;
            changed[at] = c;
            if (changed == token) continue;
            ASSERT_FALSE(verify_token(key(), changed, now_s).ok()) << changed;
        }
    }
}

TEST(AdmissionToken, RefusalsHaveNames) {
    EXPECT_EQ(refusal_name(TokenRefusal::missing), "admission_missing");
    EXPECT_EQ(refusal_name(TokenRefusal::malformed), "admission_malformed");
    EXPECT_EQ(refusal_name(TokenRefusal::forged), "admission_forged");
    EXPECT_EQ(refusal_name(TokenRefusal::expired), "admission_expired");
    EXPECT_EQ(refusal_name(TokenRefusal::used_up), "admission_used_up");
}

TEST(AdmissionTokenDeathTest, AnInvalidAdmissionIsNeverSigned) {
    EXPECT_DEATH(admit("not-an-id", now_s, 600, 4), "valid");
    EXPECT_DEATH(admit(entry, now_s, 0, 4), "valid");
    EXPECT_DEATH(admit(entry, now_s, 600, 0), "valid");
    EXPECT_DEATH(admit(entry, now_s, 600, admission_tickets_max + 1), "valid");
}

}  // namespace
}  // namespace tigerfans::queue

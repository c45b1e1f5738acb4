// Crypto helpers on OpenSSL's libcrypto.
#include "tigerfans/core/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tigerfans/core/assert.hpp"

namespace tigerfans {

namespace {

// HMAC-SHA256 with OpenSSL's MAC fetched once per thread and the last key's context kept:
// OpenSSL 3's one-shot HMAC() looks up the algorithm and the digest on every call, which costs
// more than hashing a webhook's body. A call with the key of the previous one only rewinds the
// keyed context.
class HmacSha256 {
public:
    HmacSha256() : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)) {
        TF_ASSERT(mac_ != nullptr);
        context_ = EVP_MAC_CTX_new(mac_);
        TF_ASSERT(context_ != nullptr);
        char digest[] = "SHA256";
        const OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
            OSSL_PARAM_construct_end()};
        const int set = EVP_MAC_CTX_set_params(context_, params);
        TF_ASSERT(set == 1);
    }
    ~HmacSha256() {
        EVP_MAC_CTX_free(context_);
        EVP_MAC_free(mac_);
    }
    HmacSha256(const HmacSha256&) = delete;
    HmacSha256& operator=(const HmacSha256&) = delete;

    std::string mac(std::string_view key, std::string_view message) {
        rekey(key);
        const int updated = EVP_MAC_update(
            context_, reinterpret_cast<const unsigned char*>(message.data()), message.size());
        TF_ASSERT(updated == 1);
        std::string mac(32, '\0');
        std::size_t mac_size = 0;
        const int finished = EVP_MAC_final(context_, reinterpret_cast<unsigned char*>(mac.data()),
                                           &mac_size, mac.size());
        TF_ASSERT(finished == 1);
        TF_ASSERT_EQ(mac_size, 32u);
        return mac;
    }

private:
    // A null key tells OpenSSL to reuse the context's key; an empty key is passed as an empty
    // buffer that is not null.
    void rekey(std::string_view key) {
        if (keyed_ && key == key_) {
            const int rewound = EVP_MAC_init(context_, nullptr, 0, nullptr);
            TF_ASSERT(rewound == 1);
            return;
        }
        static const unsigned char no_key = 0;
        const auto* bytes =
            key.empty() ? &no_key : reinterpret_cast<const unsigned char*>(key.data());
        keyed_ = EVP_MAC_init(context_, bytes, key.size(), nullptr) == 1;
        TF_ASSERT(keyed_);
        key_.assign(key);
    }

    EVP_MAC* mac_;
    EVP_MAC_CTX* context_ = nullptr;
    std::string key_;
    bool keyed_ = false;
};

}  // namespace

std::string lower_hex(std::string_view bytes) {
    static constexpr char alphabet[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * bytes.size());
    for (const char byte : bytes) {
        const auto value = static_cast<unsigned char>(byte);
        hex.push_back(alphabet[value >> 4]);
        hex.push_back(alphabet[value & 0xF]);
    }
    return hex;
}

std::string sha256_hex(std::string_view message) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    [[maybe_unused]] const int hashed =
        EVP_Digest(message.data(), message.size(), digest, &digest_size, EVP_sha256(), nullptr);
    TF_ASSERT(hashed == 1);
    TF_ASSERT_EQ(digest_size, 32u);
    return lower_hex(std::string_view(reinterpret_cast<const char*>(digest), digest_size));
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
    thread_local HmacSha256 hmac;
    return hmac.mac(key, message);
}

std::string base64_encode(std::string_view bytes) {
    std::string text(4 * ((bytes.size() + 2) / 3), '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                        reinterpret_cast<const unsigned char*>(bytes.data()),
                                        static_cast<int>(bytes.size()));
    TF_ASSERT_EQ(written, static_cast<int>(text.size()));
    return text;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    for (char c : text) {
        const bool valid = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                           (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
        if (!valid) return std::nullopt;
    }
    std::string bytes(3 * text.size() / 4, '\0');
    const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                                        reinterpret_cast<const unsigned char*>(text.data()),
                                        static_cast<int>(text.size()));
    if (written < 0) return std::nullopt;
    // EVP_DecodeBlock counts padding as zero bytes; drop them.
    std::size_t padding = 0;
    if (!text.empty() && text.back() == '=') padding++;
    if (text.size() > 1 && text[text.size() - 2] == '=') padding++;
    bytes.resize(static_cast<std::size_t>(written) - padding);
    return bytes;
}

std::string base64url_encode(std::string_view bytes) {
    std::string text = base64_encode(bytes);
    while (!text.empty() && text.back() == '=') text.pop_back();
    for (char& c : text) {
        if (c == '+') c = '-';
        if (c == '/') c = '_';
    }
    return text;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    std::string standard(text);
    for (char& c : standard) {
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (c == '+' || c == '/' || c == '=')
            return std::nullopt;
    }
    while (standard.size() % 4 != 0) standard += '=';
    return base64_decode(standard);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tigerfans

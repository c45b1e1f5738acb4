// Crypto helpers on OpenSSL's libcrypto.
#include "tigerfans/core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tigerfans/core/assert.hpp"

namespace tigerfans {

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
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    const unsigned char* result = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                       reinterpret_cast<const unsigned char*>(message.data()),
                                       message.size(), mac, &mac_size);
    TF_ASSERT(result != nullptr);
    TF_ASSERT_EQ(mac_size, 32u);
    return std::string(reinterpret_cast<const char*>(mac), mac_size);
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

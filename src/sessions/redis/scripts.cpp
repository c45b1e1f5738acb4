// Lua script calls and unusable replies, shared by the Redis stores.
#include "sessions/redis/scripts.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/crypto.hpp"

namespace tigerfans::sessions::redis {

namespace {

// A plain function: GCC 12 miscompiles braced lists of strings inside coroutines.
Command script_load_command(std::string_view script) {
    return {"SCRIPT", "LOAD", std::string(script)};
}

}  // namespace

std::string script_sha1(std::string_view script) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_bytes = 0;
    [[maybe_unused]] const int hashed =
        EVP_Digest(script.data(), script.size(), digest, &digest_bytes, EVP_sha1(), nullptr);
    TF_ASSERT(hashed == 1 && digest_bytes == 20);
    return lower_hex(std::string_view(reinterpret_cast<const char*>(digest), digest_bytes));
}

ReplyFaults::ReplyFaults(metrics::Registry& registry, std::string_view client_labels)
    : count_(registry.counter("tigerfans_redis_errors_total", "Redis calls that failed",
                              with_labels("kind=\"reply\"", client_labels))) {}

Fault ReplyFaults::unexpected(std::string_view operation, const Reply& reply) {
    return unexpected(operation, describe(reply), fault_of(reply));
}

Fault ReplyFaults::unexpected(std::string_view operation, std::string_view detail, Fault fault) {
    count_.add();
    if (const std::optional<std::uint64_t> suppressed = log_.admit()) {
        spdlog::error("redis: {} failed: {} ({} similar messages suppressed)", operation, detail,
                      *suppressed);
    }
    return fault;
}

asio::awaitable<Status> load_script(Client& client, ReplyFaults& faults, std::string_view script,
                                    const std::string& sha) {
    Result<Reply> loaded = co_await client.command(script_load_command(script));
    if (!loaded) co_return loaded.fault();
    if (loaded->kind != Reply::Kind::string || loaded->text != sha) {
        co_return faults.unexpected("SCRIPT LOAD", *loaded);
    }
    co_return done();
}

asio::awaitable<Result<Reply>> run_script(Client& client, Command call, std::string_view script) {
    Result<Reply> answer = co_await client.command(call);
    if (!answer || answer->error_code() != "NOSCRIPT") co_return answer;
    call[0] = "EVAL";
    call[1] = std::string(script);
    co_return co_await client.command(std::move(call));
}

}  // namespace tigerfans::sessions::redis

// Id generation. One IdGenerator lives on the loop thread; random_fill is thread-safe.
#include "tigerfans/core/ids.hpp"

#include <sys/random.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "tigerfans/core/assert.hpp"

namespace tigerfans {

namespace {
constexpr int random_bits = 80;
constexpr u128 random_mask = (u128{1} << random_bits) - 1;
constexpr std::size_t random_pool_bytes = 4096;

std::uint64_t unix_ms_now() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

void kernel_random(unsigned char* out, std::size_t size) {
    while (size > 0) {
        const ssize_t got = getrandom(out, size, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error("getrandom failed");
        }
        out += got;
        size -= static_cast<std::size_t>(got);
    }
}

// Refilled from the kernel a pool at a time: one syscall per 4 KiB of ids instead of per id.
struct RandomPool {
    std::mutex mutex;
    unsigned char bytes[random_pool_bytes];
    std::size_t used = random_pool_bytes;
};
RandomPool random_pool;
}  // namespace

void random_fill(void* buffer, std::size_t size) {
    auto* out = static_cast<unsigned char*>(buffer);
    if (size > random_pool_bytes / 4) {
        kernel_random(out, size);
        return;
    }
    std::lock_guard lock(random_pool.mutex);
    if (random_pool.used + size > random_pool_bytes) {
        kernel_random(random_pool.bytes, random_pool_bytes);
        random_pool.used = 0;
    }
    std::memcpy(out, random_pool.bytes + random_pool.used, size);
    random_pool.used += size;
}

u128 random_u128() {
    u128 value;
    random_fill(&value, sizeof(value));
    return value;
}

IdGenerator::IdGenerator() = default;

u128 IdGenerator::next() {
    const std::uint64_t now_ms = unix_ms_now();
    if (now_ms > last_ms_) {
        last_ms_ = now_ms;
        last_random_ = random_u128() & random_mask;
    } else {
        last_random_ = (last_random_ + 1) & random_mask;
        if (last_random_ == 0) last_ms_++;  // Carry into the next millisecond.
    }
    const u128 id = (u128{last_ms_} << random_bits) | last_random_;
    TF_ASSERT(id != 0 && id != u128_max);
    return id;
}

std::string new_ticket_code() {
    static constexpr char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    static_assert(sizeof(alphabet) - 1 == 32);
    constexpr std::size_t code_chars = 10;
    unsigned char bytes[code_chars];
    random_fill(bytes, sizeof(bytes));
    std::string code = "TCK-";
    for (unsigned char byte : bytes) code += alphabet[byte % 32];
    return code;
}

std::string order_id_from(u128 id) { return u128_to_hex(id); }

u128 new_order_id() { return random_u128(); }

std::optional<u128> parse_order_id(std::string_view order_id) { return u128_from_hex(order_id); }

std::string new_payment_session_id() { return "mock_" + u128_to_hex(random_u128()); }

std::string new_event_key() { return "evt_" + u128_to_hex(random_u128()); }

std::string new_lease_token() { return "lease_" + u128_to_hex(random_u128()); }

}  // namespace tigerfans

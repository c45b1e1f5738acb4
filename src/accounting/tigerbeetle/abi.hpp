// The C ABI of the official TigerBeetle client library (libtb_client, release 0.17.8), declared
// by us from the library's documented struct layouts: no TigerBeetle header is copied or
// included. Every size and offset the library depends on is pinned by a static_assert, so a
// layout mistake fails the build instead of corrupting transfers. Only this folder sees these
// types; the rest of the server talks to the Ledger interface.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tigerfans/core/u128.hpp"

namespace tigerfans::accounting::tb::abi {

// An account: 128 bytes, every u128 little-endian (x86_64 native order).
struct alignas(16) Account {
    u128 id;
    u128 debits_pending;
    u128 debits_posted;
    u128 credits_pending;
    u128 credits_posted;
    u128 user_data_128;
    std::uint64_t user_data_64;
    std::uint32_t user_data_32;
    std::uint32_t reserved;  // Must be zero.
    std::uint32_t ledger;
    std::uint16_t code;
    std::uint16_t flags;
    std::uint64_t timestamp;  // Set by the cluster; zero when creating.
};

struct alignas(16) Transfer {
    u128 id;
    u128 debit_account_id;
    u128 credit_account_id;
    u128 amount;
    u128 pending_id;
    u128 user_data_128;
    std::uint64_t user_data_64;
    std::uint32_t user_data_32;
    std::uint32_t timeout_s;  // Pending transfers only; zero never expires.
    std::uint32_t ledger;
    std::uint16_t code;
    std::uint16_t flags;
    std::uint64_t timestamp;
};

// get_account_transfers' one event: the account's transfers with timestamps in
// [timestamp_min, timestamp_max] (0: unbounded), at most `limit`, oldest first.
struct alignas(16) AccountFilter {
    u128 account_id;
    u128 user_data_128;  // 0: any.
    std::uint64_t user_data_64;
    std::uint32_t user_data_32;
    std::uint16_t code;
    std::uint8_t reserved[58];  // Must be zero.
    std::uint64_t timestamp_min;
    std::uint64_t timestamp_max;
    std::uint32_t limit;
    std::uint32_t flags;  // account_filter_flags
};

// One per created event, in event order (0.17: dense, 16 bytes; 0.16 was sparse, 8 bytes).
struct CreateResult {
    std::uint64_t timestamp;
    std::uint32_t status;
    std::uint32_t reserved;
};

// Owned by the caller; it and its data stay put and untouched from submit until the callback.
struct Packet {
    void* user_data;
    void* data;
    std::uint32_t data_size;
    std::uint16_t user_tag;
    std::uint8_t operation;
    std::uint8_t status;  // Written by the library.
    std::uint8_t opaque[64];
};

// The client handle: fixed address for the client's life, zeroed before init.
struct ClientHandle {
    std::uint64_t opaque[4];
};

struct alignas(16) InitParameters {
    u128 cluster_id;
    u128 client_id;
    std::uint64_t addresses_ptr;
    std::uint64_t addresses_len;
};

enum class Operation : std::uint8_t {
    get_change_events = 137,
    lookup_accounts = 140,
    lookup_transfers = 141,
    get_account_transfers = 142,
    get_account_balances = 143,
    query_accounts = 144,
    query_transfers = 145,
    create_accounts = 146,
    create_transfers = 147,
};

// The most events one request carries, and the most results one reply does: a message is at
// most 1 MiB and a transfer 128 bytes, which leaves room for 8189 in release 0.17.8. A replica
// started with a smaller --limit-request takes fewer and answers the rest with TOO_MUCH_DATA.
inline constexpr std::uint32_t request_events_max = 8189;

enum class PacketStatus : std::uint8_t {
    ok = 0,
    too_much_data = 1,
    client_evicted = 2,
    client_release_too_low = 3,
    client_release_too_high = 4,
    client_shutdown = 5,
    invalid_operation = 6,
    invalid_data_size = 7,
};

// The C enums below are int-sized.
enum class InitStatus : int {
    success = 0,
    unexpected = 1,
    out_of_memory = 2,
    address_invalid = 3,
    address_limit_exceeded = 4,
    system_resources = 5,
    network_subsystem = 6,
};

enum class ClientStatus : int { ok = 0, invalid = 1 };

enum class LogLevel : int { err = 0, warn = 1, info = 2, debug = 3 };

enum class RegisterLogStatus : int { success = 0, already_registered = 1, not_registered = 2 };

namespace account_flags {
inline constexpr std::uint16_t linked = 1;
inline constexpr std::uint16_t debits_must_not_exceed_credits = 2;
inline constexpr std::uint16_t credits_must_not_exceed_debits = 4;
inline constexpr std::uint16_t history = 8;
inline constexpr std::uint16_t imported = 16;
inline constexpr std::uint16_t closed = 32;
}  // namespace account_flags

namespace account_filter_flags {
inline constexpr std::uint32_t debits = 1;
inline constexpr std::uint32_t credits = 2;
inline constexpr std::uint32_t reversed = 4;
}  // namespace account_filter_flags

namespace transfer_flags {
inline constexpr std::uint16_t linked = 1;
inline constexpr std::uint16_t pending = 2;
inline constexpr std::uint16_t post_pending_transfer = 4;
inline constexpr std::uint16_t void_pending_transfer = 8;
inline constexpr std::uint16_t balancing_debit = 16;
inline constexpr std::uint16_t balancing_credit = 32;
inline constexpr std::uint16_t closing_debit = 64;
inline constexpr std::uint16_t closing_credit = 128;
inline constexpr std::uint16_t imported = 256;
}  // namespace transfer_flags

// The create statuses this server acts on; any other one is reported as unexpected.
namespace create_account_status {
inline constexpr std::uint32_t created = 0xFFFF'FFFF;
inline constexpr std::uint32_t exists_with_different_flags = 15;
inline constexpr std::uint32_t exists = 21;
}  // namespace create_account_status

namespace create_transfer_status {
inline constexpr std::uint32_t created = 0xFFFF'FFFF;
inline constexpr std::uint32_t linked_event_failed = 1;  // Another event of its chain failed.
inline constexpr std::uint32_t linked_event_chain_open = 2;
inline constexpr std::uint32_t debit_account_not_found = 21;
inline constexpr std::uint32_t credit_account_not_found = 22;
inline constexpr std::uint32_t pending_transfer_not_found = 25;
inline constexpr std::uint32_t pending_transfer_not_pending = 26;
inline constexpr std::uint32_t pending_transfer_has_different_debit_account_id = 27;
inline constexpr std::uint32_t pending_transfer_has_different_credit_account_id = 28;
inline constexpr std::uint32_t pending_transfer_already_posted = 33;
inline constexpr std::uint32_t pending_transfer_already_voided = 34;
inline constexpr std::uint32_t pending_transfer_expired = 35;
inline constexpr std::uint32_t exists_with_different_amount = 39;
inline constexpr std::uint32_t exists = 46;
inline constexpr std::uint32_t exceeds_credits = 54;
inline constexpr std::uint32_t id_already_failed = 68;
}  // namespace create_transfer_status

// The exported functions, resolved with dlsym (library.hpp).
extern "C" {
using CompletionFn = void (*)(std::uintptr_t context, Packet* packet, std::uint64_t timestamp,
                              const std::uint8_t* result, std::uint32_t result_size);
using InitFn = InitStatus (*)(ClientHandle* out, const std::uint8_t cluster_id[16],
                              const char* address, std::uint32_t address_length,
                              std::uintptr_t completion_context, CompletionFn completion);
using SubmitFn = ClientStatus (*)(ClientHandle* client, Packet* packet);
using DeinitFn = ClientStatus (*)(ClientHandle* client);
using InitParametersFn = ClientStatus (*)(ClientHandle* client, InitParameters* out);
using LogFn = void (*)(LogLevel level, const std::uint8_t* message, std::uint32_t size);
using RegisterLogFn = RegisterLogStatus (*)(LogFn callback, bool debug);
}

// Layouts: a wrong offset here would silently corrupt every event, so each one is pinned.
static_assert(sizeof(u128) == 16);
static_assert(alignof(u128) == 16);

static_assert(sizeof(Account) == 128 && alignof(Account) == 16);
static_assert(offsetof(Account, id) == 0);
static_assert(offsetof(Account, debits_pending) == 16);
static_assert(offsetof(Account, debits_posted) == 32);
static_assert(offsetof(Account, credits_pending) == 48);
static_assert(offsetof(Account, credits_posted) == 64);
static_assert(offsetof(Account, user_data_128) == 80);
static_assert(offsetof(Account, user_data_64) == 96);
static_assert(offsetof(Account, user_data_32) == 104);
static_assert(offsetof(Account, reserved) == 108);
static_assert(offsetof(Account, ledger) == 112);
static_assert(offsetof(Account, code) == 116);
static_assert(offsetof(Account, flags) == 118);
static_assert(offsetof(Account, timestamp) == 120);

static_assert(sizeof(Transfer) == 128 && alignof(Transfer) == 16);
static_assert(offsetof(Transfer, id) == 0);
static_assert(offsetof(Transfer, debit_account_id) == 16);
static_assert(offsetof(Transfer, credit_account_id) == 32);
static_assert(offsetof(Transfer, amount) == 48);
static_assert(offsetof(Transfer, pending_id) == 64);
static_assert(offsetof(Transfer, user_data_128) == 80);
static_assert(offsetof(Transfer, user_data_64) == 96);
static_assert(offsetof(Transfer, user_data_32) == 104);
static_assert(offsetof(Transfer, timeout_s) == 108);
static_assert(offsetof(Transfer, ledger) == 112);
static_assert(offsetof(Transfer, code) == 116);
static_assert(offsetof(Transfer, flags) == 118);
static_assert(offsetof(Transfer, timestamp) == 120);

static_assert(sizeof(AccountFilter) == 128 && alignof(AccountFilter) == 16);
static_assert(offsetof(AccountFilter, account_id) == 0);
static_assert(offsetof(AccountFilter, user_data_128) == 16);
static_assert(offsetof(AccountFilter, user_data_64) == 32);
static_assert(offsetof(AccountFilter, user_data_32) == 40);
static_assert(offsetof(AccountFilter, code) == 44);
static_assert(offsetof(AccountFilter, reserved) == 46);
static_assert(offsetof(AccountFilter, timestamp_min) == 104);
static_assert(offsetof(AccountFilter, timestamp_max) == 112);
static_assert(offsetof(AccountFilter, limit) == 120);
static_assert(offsetof(AccountFilter, flags) == 124);

static_assert(sizeof(CreateResult) == 16 && alignof(CreateResult) == 8);
static_assert(offsetof(CreateResult, timestamp) == 0);
static_assert(offsetof(CreateResult, status) == 8);
static_assert(offsetof(CreateResult, reserved) == 12);

static_assert(sizeof(Packet) == 88 && alignof(Packet) == 8);
static_assert(offsetof(Packet, user_data) == 0);
static_assert(offsetof(Packet, data) == 8);
static_assert(offsetof(Packet, data_size) == 16);
static_assert(offsetof(Packet, user_tag) == 20);
static_assert(offsetof(Packet, operation) == 22);
static_assert(offsetof(Packet, status) == 23);
static_assert(offsetof(Packet, opaque) == 24);

static_assert(sizeof(ClientHandle) == 32 && alignof(ClientHandle) == 8);

static_assert(sizeof(InitParameters) == 48 && alignof(InitParameters) == 16);
static_assert(offsetof(InitParameters, cluster_id) == 0);
static_assert(offsetof(InitParameters, client_id) == 16);
static_assert(offsetof(InitParameters, addresses_ptr) == 32);
static_assert(offsetof(InitParameters, addresses_len) == 40);

static_assert(sizeof(InitStatus) == 4 && sizeof(ClientStatus) == 4 && sizeof(LogLevel) == 4);

}  // namespace tigerfans::accounting::tb::abi

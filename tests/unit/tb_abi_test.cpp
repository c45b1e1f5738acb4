// Our own declaration of the libtb_client 0.17.8 ABI: the layouts the library reads byte by
// byte (little-endian u128s at fixed offsets), and the codes it sends back. The static_asserts
// in abi.hpp pin sizes and offsets at compile time; these tests check the encoded bytes.
#include "accounting/tigerbeetle/abi.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace tigerfans::accounting::tb {
namespace {

template <typename T>
std::vector<std::uint8_t> bytes_of(const T& value) {
    std::vector<std::uint8_t> bytes(sizeof(T));
    std::memcpy(bytes.data(), &value, sizeof(T));
    return bytes;
}

// Reads a little-endian unsigned integer of `size` bytes at `offset`.
u128 read_le(const std::vector<std::uint8_t>& bytes, std::size_t offset, std::size_t size) {
    u128 value = 0;
    for (std::size_t i = 0; i < size; i++) value |= u128{bytes[offset + i]} << (8 * i);
    return value;
}

TEST(TbAbi, TheDeclaredStructsHaveTheLibrarysSizes) {
    // The five sizes issue 4 names; a mismatch would shift every event in a packet.
    EXPECT_EQ(sizeof(abi::Transfer), 128u);
    EXPECT_EQ(sizeof(abi::Account), 128u);
    EXPECT_EQ(sizeof(abi::CreateResult), 16u);
    EXPECT_EQ(sizeof(abi::Packet), 88u);
    EXPECT_EQ(sizeof(abi::ClientHandle), 32u);
    EXPECT_EQ(sizeof(abi::InitParameters), 48u);
}

TEST(TbAbi, ATransferEncodesEveryFieldLittleEndianAtItsDocumentedOffset) {
    // Distinct values per field, so a swapped or shifted field cannot go unnoticed.
    abi::Transfer transfer{};
    transfer.id = make_u128(0x0102030405060708, 0x090a0b0c0d0e0f10);
    transfer.debit_account_id = 2125;
    transfer.credit_account_id = 2129;
    transfer.amount = 1;
    transfer.pending_id = make_u128(7, 9);
    transfer.user_data_128 = 11;
    transfer.user_data_64 = 12;
    transfer.user_data_32 = 13;
    transfer.timeout_s = 300;
    transfer.ledger = 2000;
    transfer.code = 10;
    transfer.flags = abi::transfer_flags::pending;
    transfer.timestamp = 14;
    const auto bytes = bytes_of(transfer);
    EXPECT_EQ(bytes[0], 0x10);  // Least significant byte first.
    EXPECT_EQ(read_le(bytes, 0, 16), transfer.id);
    EXPECT_EQ(read_le(bytes, 16, 16), 2125u);
    EXPECT_EQ(read_le(bytes, 32, 16), 2129u);
    EXPECT_EQ(read_le(bytes, 48, 16), 1u);
    EXPECT_EQ(read_le(bytes, 64, 16), make_u128(7, 9));
    EXPECT_EQ(read_le(bytes, 80, 16), 11u);
    EXPECT_EQ(read_le(bytes, 96, 8), 12u);
    EXPECT_EQ(read_le(bytes, 104, 4), 13u);
    EXPECT_EQ(read_le(bytes, 108, 4), 300u);
    EXPECT_EQ(read_le(bytes, 112, 4), 2000u);
    EXPECT_EQ(read_le(bytes, 116, 2), 10u);
    EXPECT_EQ(read_le(bytes, 118, 2), 2u);
    EXPECT_EQ(read_le(bytes, 120, 8), 14u);
}

TEST(TbAbi, AnAccountEncodesBalancesLedgerCodeAndFlagsAtTheirOffsets) {
    // The inventory reads credits_posted/credits_pending from these offsets.
    abi::Account account{};
    account.id = 2125;
    account.debits_pending = 1;
    account.debits_posted = 2;
    account.credits_pending = 3;
    account.credits_posted = 4;
    account.ledger = 2000;
    account.code = 20;
    account.flags = abi::account_flags::debits_must_not_exceed_credits;
    account.timestamp = 99;
    const auto bytes = bytes_of(account);
    EXPECT_EQ(read_le(bytes, 0, 16), 2125u);
    EXPECT_EQ(read_le(bytes, 16, 16), 1u);
    EXPECT_EQ(read_le(bytes, 32, 16), 2u);
    EXPECT_EQ(read_le(bytes, 48, 16), 3u);
    EXPECT_EQ(read_le(bytes, 64, 16), 4u);
    EXPECT_EQ(read_le(bytes, 108, 4), 0u);  // reserved
    EXPECT_EQ(read_le(bytes, 112, 4), 2000u);
    EXPECT_EQ(read_le(bytes, 116, 2), 20u);
    EXPECT_EQ(read_le(bytes, 118, 2), 2u);
    EXPECT_EQ(read_le(bytes, 120, 8), 99u);
}

TEST(TbAbi, ACreateResultIsATimestampThenAStatus) {
    // 0.17's dense 16-byte result, not 0.16's {index, result} pair.
    abi::CreateResult result{};
    result.timestamp = 0x1122334455667788;
    result.status = abi::create_transfer_status::created;
    const auto bytes = bytes_of(result);
    EXPECT_EQ(read_le(bytes, 0, 8), 0x1122334455667788u);
    EXPECT_EQ(read_le(bytes, 8, 4), 0xFFFFFFFFu);
    EXPECT_EQ(read_le(bytes, 12, 4), 0u);
}

TEST(TbAbi, APacketCarriesOperationAndStatusAsSingleBytesBeforeItsOpaqueArea) {
    // The library writes status into byte 23 and owns the 64 bytes from 24.
    abi::Packet packet{};
    packet.data_size = 0x01020304;
    packet.user_tag = 0x0506;
    packet.operation = static_cast<std::uint8_t>(abi::Operation::create_transfers);
    packet.status = static_cast<std::uint8_t>(abi::PacketStatus::too_much_data);
    const auto bytes = bytes_of(packet);
    EXPECT_EQ(read_le(bytes, 16, 4), 0x01020304u);
    EXPECT_EQ(read_le(bytes, 20, 2), 0x0506u);
    EXPECT_EQ(bytes[22], 147);
    EXPECT_EQ(bytes[23], 1);
}

TEST(TbAbi, OperationAndStatusCodesAreThoseOfRelease0178) {
    // 0.17 moved the creates to 146/147 and CREATED to 0xFFFFFFFF; the rest are fixed codes.
    EXPECT_EQ(static_cast<int>(abi::Operation::create_accounts), 146);
    EXPECT_EQ(static_cast<int>(abi::Operation::create_transfers), 147);
    EXPECT_EQ(static_cast<int>(abi::Operation::lookup_accounts), 140);
    EXPECT_EQ(static_cast<int>(abi::Operation::lookup_transfers), 141);
    EXPECT_EQ(abi::create_transfer_status::exists, 46u);
    EXPECT_EQ(abi::create_account_status::exists, 21u);
    EXPECT_EQ(abi::create_transfer_status::exceeds_credits, 54u);
    EXPECT_EQ(abi::create_transfer_status::pending_transfer_expired, 35u);
    EXPECT_EQ(abi::create_transfer_status::pending_transfer_already_posted, 33u);
    EXPECT_EQ(abi::create_transfer_status::pending_transfer_already_voided, 34u);
    EXPECT_EQ(abi::create_transfer_status::pending_transfer_not_found, 25u);
    EXPECT_EQ(static_cast<int>(abi::PacketStatus::client_evicted), 2);
    EXPECT_EQ(static_cast<int>(abi::PacketStatus::client_shutdown), 5);
    EXPECT_EQ(abi::transfer_flags::post_pending_transfer, 4);
    EXPECT_EQ(abi::transfer_flags::void_pending_transfer, 8);
}

}  // namespace
}  // namespace tigerfans::accounting::tb

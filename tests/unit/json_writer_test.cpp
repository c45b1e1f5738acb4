// The hand-written JSON of the hot answers is held to the exact bytes nlohmann's dump() writes
// for the same values: escapes of every ASCII byte, numbers, literals, and the checkout,
// webhook, order and accounting bodies in their sorted member order.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "tigerfans/core/clock.hpp"
#include "tigerfans/flows/api.hpp"
#include "tigerfans/http/json_writer.hpp"

namespace tigerfans {
namespace {

using nlohmann::json;

TEST(JsonWriter, EscapesEveryAsciiByteAsNlohmannDoes) {
    std::string all;
    for (int c = 0; c < 128; c++) all.push_back(static_cast<char>(c));
    all += "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\x9F";  // Multi-byte UTF-8 passes through.
    std::string mine;
    http::append_json_string(mine, all);
    EXPECT_EQ(mine, json(all).dump());
}

TEST(JsonWriter, WritesNumbersLiteralsAndMembersInOrder) {
    http::JsonObjectWriter writer;
    writer.integer("a", std::numeric_limits<std::int64_t>::min())
        .integer("b", std::numeric_limits<std::int64_t>::max())
        .integer("c", 0)
        .boolean("d", true)
        .boolean("e", false)
        .null("f")
        .string("g\"", "");
    const json reference = {{"a", std::numeric_limits<std::int64_t>::min()},
                            {"b", std::numeric_limits<std::int64_t>::max()},
                            {"c", 0},
                            {"d", true},
                            {"e", false},
                            {"f", nullptr},
                            {"g\"", ""}};
    EXPECT_EQ(std::move(writer).finish(), reference.dump());
    EXPECT_EQ(http::JsonObjectWriter().finish(), "{}");
}

orders::Order sample_order(bool paid) {
    orders::Order order;
    order.id = "0123456789abcdef0123456789abcdef";
    order.cls = TicketClass::b;
    order.amount_cents = 3500;
    order.currency = "eur";
    order.status = paid ? orders::OrderStatus::paid : orders::OrderStatus::canceled;
    if (paid) {
        order.paid_at_us = 1'764'756'930'123'456;
        order.ticket_code = "TCK-ABCDEFGHJK";
        order.got_goodie = true;
    }
    return order;
}

// The order answer as an nlohmann document: the bytes order_json must write.
std::string reference_order_json(const orders::Order& order) {
    return json{{"order_id", order.id},
                {"status", orders::status_name(order.status)},
                {"cls", class_name(order.cls)},
                {"qty", order.qty},
                {"amount", order.amount_cents},
                {"currency", order.currency},
                {"paid_at", order.paid_at_us ? json(iso8601_utc(*order.paid_at_us)) : json()},
                {"ticket_code", order.ticket_code},
                {"got_goodie", order.got_goodie}}
        .dump();
}

TEST(JsonWriter, WritesIntegerArraysAsNlohmannDoes) {
    const std::vector<std::uint32_t> seats = {0, 12, std::numeric_limits<std::uint32_t>::max()};
    http::JsonObjectWriter writer;
    writer.integers("empty", {}).integers("seats", seats);
    const json reference = {{"empty", json::array()}, {"seats", seats}};
    EXPECT_EQ(std::move(writer).finish(), reference.dump());
}

TEST(JsonWriter, OrderBodyIsByteForByteWhatItWas) {
    for (const bool paid : {true, false}) {
        const orders::Order order = sample_order(paid);
        EXPECT_EQ(flows::order_json(order), reference_order_json(order));
    }
}

TEST(JsonWriter, CheckoutAndWebhookAnswersAreByteForByteWhatTheyWere) {
    const flows::CheckoutAccepted accepted{"00ff", "mock_abc", 6500};
    EXPECT_EQ(flows::checkout_answer_json(accepted), json({{"order_id", "00ff"},
                                                           {"redirect_url", "/mockpay/mock_abc"},
                                                           {"amount", 6500},
                                                           {"currency", "eur"}})
                                                         .dump());
    EXPECT_EQ(flows::webhook_answer_json({false, orders::OrderStatus::paid_unfulfilled}),
              json({{"ok", true}, {"order_status", "PAID_UNFULFILLED"}}).dump());
    EXPECT_EQ(flows::webhook_answer_json({true, orders::OrderStatus::canceled}),
              json({{"ok", true}, {"idempotent", true}, {"order_status", "CANCELED"}}).dump());
}

}  // namespace
}  // namespace tigerfans

// The load client's hand-written wire code: the response head parser (partial reads, pipelined
// bytes, framing it must refuse), the JSON member reader and the request formatter.
#include <gtest/gtest.h>

#include <string>

#include "load/connection.hpp"
#include "load/json_fields.hpp"
#include "load/response_parser.hpp"

namespace tigerfans::loadgen {
namespace {

constexpr std::size_t body_max = 1024;

HeadParse parse(std::string_view bytes, ResponseHead& head, bool head_request = false) {
    return parse_response_head(bytes, head_request, body_max, head);
}

const std::string ok_answer =
    "HTTP/1.1 200 OK\r\nServer: tigerfans\r\nContent-Type: application/json\r\n"
    "Content-Length: 11\r\n\r\n{\"ok\":true}";

TEST(ResponseParser, ReadsStatusLengthAndHeadSize) {
    ResponseHead head;
    ASSERT_EQ(parse(ok_answer, head), HeadParse::complete);
    EXPECT_EQ(head.status, 200u);
    EXPECT_EQ(head.body_bytes, 11u);
    EXPECT_EQ(head.message_bytes(), ok_answer.size());
    EXPECT_TRUE(head.keep_alive);
    EXPECT_EQ(ok_answer.substr(head.head_bytes), "{\"ok\":true}");
}

TEST(ResponseParser, AsksForMoreUntilTheBlankLineArrivesAtAnySplit) {
    const std::size_t head_end = ok_answer.find("\r\n\r\n") + 4;
    for (std::size_t cut = 0; cut < head_end; cut++) {
        ResponseHead head;
        EXPECT_EQ(parse(std::string_view(ok_answer).substr(0, cut), head), HeadParse::incomplete)
            << "cut at " << cut;
    }
    ResponseHead head;
    EXPECT_EQ(parse(std::string_view(ok_answer).substr(0, head_end), head), HeadParse::complete);
}

TEST(ResponseParser, LeavesPipelinedBytesAfterTheMessage) {
    const std::string two = ok_answer + "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    ResponseHead first;
    ASSERT_EQ(parse(two, first), HeadParse::complete);
    ResponseHead second;
    ASSERT_EQ(parse(std::string_view(two).substr(first.message_bytes()), second),
              HeadParse::complete);
    EXPECT_EQ(second.status, 404u);
    EXPECT_EQ(first.message_bytes() + second.message_bytes(), two.size());
}

TEST(ResponseParser, ReadsLocationAndConnectionClose) {
    ResponseHead head;
    ASSERT_EQ(parse("HTTP/1.1 303 See Other\r\nlocation:  /demo/success?order_id=1 \r\n"
                    "Connection: keep-alive, Close\r\ncontent-length: 0\r\n\r\n",
                    head),
              HeadParse::complete);
    EXPECT_EQ(head.status, 303u);
    EXPECT_EQ(head.location, "/demo/success?order_id=1");
    EXPECT_FALSE(head.keep_alive);
}

TEST(ResponseParser, Http10ClosesUnlessKeepAliveIsAsked) {
    ResponseHead head;
    ASSERT_EQ(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", head), HeadParse::complete);
    EXPECT_FALSE(head.keep_alive);
    ASSERT_EQ(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", head),
              HeadParse::complete);
    EXPECT_TRUE(head.keep_alive);
}

TEST(ResponseParser, HeadAnswersAndNoContentHaveNoBody) {
    ResponseHead head;
    ASSERT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", head, true),
              HeadParse::complete);
    EXPECT_EQ(head.body_bytes, 0u);
    ASSERT_EQ(parse("HTTP/1.1 204 No Content\r\n\r\n", head), HeadParse::complete);
    EXPECT_EQ(head.body_bytes, 0u);
}

TEST(ResponseParser, RefusesWhatItCannotFrame) {
    ResponseHead head;
    for (const char* bad : {
             "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
             "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
             "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
             "HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
             "HTTP/1.1 100 Continue\r\n\r\n",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
             "HTTP/1.1 200 OK\r\nX: y\r\n\r\n",
             "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
             "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
             "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
             "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
             "HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 0\r\n\r\n",
             "garbage\r\n\r\n",
         }) {
        EXPECT_EQ(parse(bad, head), HeadParse::invalid) << bad;
    }
}

TEST(ResponseParser, RefusesHeadsAndBodiesOverTheLimits) {
    ResponseHead head;
    const std::string endless =
        "HTTP/1.1 200 OK\r\nX: " + std::string(response_head_bytes_max, 'a');
    EXPECT_EQ(parse(endless, head), HeadParse::too_large);
    EXPECT_EQ(parse(endless + "\r\nContent-Length: 0\r\n\r\n", head), HeadParse::too_large);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n", head), HeadParse::too_large);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", head),
              HeadParse::invalid);
}

TEST(JsonFields, ReadsTopLevelMembersAndSkipsNestedOnes) {
    const std::string body =
        R"({"nested":{"order_id":"inner","list":[1,{"a":"]"}]},"text":"a,b}\"c",)"
        R"( "order_id" : "0123abc", "amount":6500, "neg":-3, "paid_at":null})";
    EXPECT_EQ(json_string_member(body, "order_id").value_or(""), "0123abc");
    EXPECT_EQ(json_integer_member(body, "amount").value_or(0), 6500);
    EXPECT_EQ(json_integer_member(body, "neg").value_or(0), -3);
    EXPECT_EQ(json_member(body, "paid_at").value_or(""), "null");
    EXPECT_EQ(json_member(body, "nested").value_or("").substr(0, 12), R"({"order_id":)");
    EXPECT_FALSE(json_member(body, "missing"));
}

TEST(JsonFields, DeclinesEscapesWrongTypesAndBrokenText) {
    const std::string body = R"({"text":"a\"b","amount":"12","n":1.5})";
    EXPECT_FALSE(json_string_member(body, "text"));
    EXPECT_FALSE(json_integer_member(body, "amount"));
    EXPECT_FALSE(json_integer_member(body, "n"));
    EXPECT_EQ(json_string_member(body, "amount").value_or(""), "12");
    for (const char* broken : {"", "[]", "{", R"({"a")", R"({"a":)", R"({"a":"x)",
                               R"({"a":1 "order_id":"x"})", R"({"a":{"b":1,"order_id":"x")"}) {
        EXPECT_FALSE(json_member(broken, "order_id")) << broken;
    }
}

TEST(RequestFormat, WritesRequestLineHostHeadersAndLength) {
    std::string out;
    format_request(out, "POST", "/api/checkout", "127.0.0.1:8000",
                   {{"Content-Type", "application/json"}}, R"({"cls":"A"})");
    EXPECT_EQ(out,
              "POST /api/checkout HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
              "Content-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"cls\":\"A\"}");
    out.clear();
    format_request(out, "GET", "/healthz", "h:1", {}, {});
    EXPECT_EQ(out, "GET /healthz HTTP/1.1\r\nHost: h:1\r\n\r\n");
    out.clear();
    format_request(out, "POST", "/x", "h:1", {}, {});
    EXPECT_EQ(out, "POST /x HTTP/1.1\r\nHost: h:1\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace tigerfans::loadgen

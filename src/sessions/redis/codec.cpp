// Payment sessions as Redis hashes, and the key names of the store.
#include "sessions/redis/codec.hpp"

#include <charconv>
#include <cstdint>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/u128.hpp"
#include "tigerfans/seating/seat_list.hpp"

namespace tigerfans::sessions::redis {

namespace {

constexpr std::size_t session_field_count = 10;

std::string prefixed(std::string_view prefix, std::string_view name) {
    std::string key;
    key.reserve(prefix.size() + name.size());
    key.append(prefix).append(name);
    return key;
}

std::optional<std::int64_t> parse_int64(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<bool> parse_flag(std::string_view text) {
    if (text == "1") return true;
    if (text == "0") return false;
    return std::nullopt;
}

// Looks fields up by name in HGETALL's flat [name, value, name, value, ...] list.
class Fields {
public:
    explicit Fields(const std::vector<std::string>& flat) : flat_(flat) {}

    std::optional<std::string_view> get(std::string_view name) const {
        for (std::size_t i = 0; i + 1 < flat_.size(); i += 2) {
            if (flat_[i] == name) return std::string_view(flat_[i + 1]);
        }
        return std::nullopt;
    }

    template <typename T, typename Parse>
    std::optional<T> parse(std::string_view name, Parse parse_text) const {
        const std::optional<std::string_view> text = get(name);
        if (!text) return std::nullopt;
        return parse_text(*text);
    }

private:
    const std::vector<std::string>& flat_;
};

}  // namespace

std::string session_key(std::string_view psid) { return prefixed("ps:", psid); }
std::string gate_key(std::string_view psid) { return prefixed("gate:", psid); }
std::string email_slots_key(std::string_view email) { return prefixed("slots:", email); }

std::string checkout_key(std::string_view key_id) { return prefixed("ckey:", key_id); }

std::string key_lease_record(const KeyClaim& claim) {
    TF_ASSERT(claim.fingerprint.find(':') == std::string::npos);
    return "lease:" + claim.fingerprint + ":" + claim.token;
}

std::string key_done_record(const KeyClaim& claim, unsigned status, std::string_view body) {
    TF_ASSERT(claim.fingerprint.find(':') == std::string::npos);
    std::string record = "done:" + claim.fingerprint + ":" + std::to_string(status) + ":";
    record.append(body);
    return record;
}

std::optional<KeyAnswer> decode_key_record(std::string_view record) {
    const std::size_t kind_end = record.find(':');
    const std::size_t fingerprint_end =
        kind_end == std::string_view::npos ? kind_end : record.find(':', kind_end + 1);
    if (fingerprint_end == std::string_view::npos) return std::nullopt;
    const std::string_view kind = record.substr(0, kind_end);
    KeyAnswer answer;
    answer.fingerprint = std::string(record.substr(kind_end + 1, fingerprint_end - kind_end - 1));
    if (kind == "lease") return answer;
    const std::size_t status_end = record.find(':', fingerprint_end + 1);
    if (kind != "done" || status_end == std::string_view::npos) return std::nullopt;
    const auto status =
        parse_int64(record.substr(fingerprint_end + 1, status_end - fingerprint_end - 1));
    if (!status || *status < 100 || *status > 599) return std::nullopt;
    answer.state = KeyState::done;
    answer.status = static_cast<unsigned>(*status);
    answer.body = std::string(record.substr(status_end + 1));
    return answer;
}

std::string gate_lease_mark(std::string_view token) {
    std::string mark = "lease:";
    mark.append(token);
    return mark;
}

std::string gate_done_mark(std::string_view order_status) {
    std::string mark = "done:";
    mark.append(order_status);
    return mark;
}

std::optional<GateAnswer> decode_gate_answer(const Reply& reply) {
    if (reply.kind != Reply::Kind::array || reply.elements.size() != 2) return std::nullopt;
    const std::optional<std::int64_t> code = reply.elements[0].as_integer();
    const Reply& status = reply.elements[1];
    if (!code || status.kind != Reply::Kind::string) return std::nullopt;
    switch (*code) {
        case 0: return GateAnswer{GateState::leased, {}};
        case 1: return GateAnswer{GateState::busy, {}};
        case 2:
            if (status.text.empty()) return std::nullopt;
            return GateAnswer{GateState::done, status.text};
        default: return std::nullopt;
    }
}

std::vector<std::string> encode_session(const PaymentSession& session) {
    std::vector<std::string> pairs = {
        "psid",
        session.psid,
        "order_id",
        session.order_id,
        "cls",
        std::string(class_name(session.cls)),
        "customer_email",
        session.customer_email,
        "ticket_hold_id",
        u128_to_decimal(session.ticket_hold_id),
        "goodie_hold_id",
        u128_to_decimal(session.goodie_hold_id),
        std::string(goodie_held_field),
        std::string(goodie_held_value(session.goodie_held)),
        "amount_cents",
        std::to_string(session.amount_cents),
        "currency",
        session.currency,
        "created_at_us",
        std::to_string(session.created_at_us),
    };
    TF_ASSERT(pairs.size() == 2 * session_field_count);
    // Only a seat order has these, so a session of a class is what it was before seating.
    if (!session.seats.empty()) {
        TF_ASSERT_EQ(session.seats.size(), session.seat_hold_ids.size());
        pairs.insert(pairs.end(), {"seats", seating::seat_list_text(session.seats), "seat_holds",
                                   seating::hold_list_text(session.seat_hold_ids)});
    }
    return pairs;
}

std::optional<PaymentSession> decode_session(const std::vector<std::string>& flat) {
    if (flat.size() % 2 != 0) return std::nullopt;
    const Fields fields(flat);
    const auto text = [](std::string_view value) { return std::optional<std::string>(value); };
    auto psid = fields.parse<std::string>("psid", text);
    auto order_id = fields.parse<std::string>("order_id", text);
    auto cls = fields.parse<TicketClass>("cls", parse_class);
    auto email = fields.parse<std::string>("customer_email", text);
    auto ticket_hold_id = fields.parse<u128>("ticket_hold_id", u128_from_decimal);
    auto goodie_hold_id = fields.parse<u128>("goodie_hold_id", u128_from_decimal);
    auto goodie_held = fields.parse<bool>(goodie_held_field, parse_flag);
    auto amount_cents = fields.parse<std::int64_t>("amount_cents", parse_int64);
    auto currency = fields.parse<std::string>("currency", text);
    auto created_at_us = fields.parse<std::int64_t>("created_at_us", parse_int64);
    if (!psid || !order_id || !cls || !email || !ticket_hold_id || !goodie_hold_id ||
        !goodie_held || !amount_cents || !currency || !created_at_us) {
        return std::nullopt;
    }
    PaymentSession session{
        std::move(*psid),     std::move(*order_id), *cls,         std::move(*email),
        *ticket_hold_id,      *goodie_hold_id,      *goodie_held, *amount_cents,
        std::move(*currency), *created_at_us,       {},           {}};
    // Seats are both there or both absent, one hold per seat.
    auto seats = fields.parse<std::vector<seating::SeatId>>("seats", seating::parse_seat_list);
    auto holds = fields.parse<std::vector<u128>>("seat_holds", seating::parse_hold_list);
    const bool has_seats = fields.get("seats").has_value();
    if (has_seats != fields.get("seat_holds").has_value()) return std::nullopt;
    if (has_seats) {
        if (!seats || !holds || seats->empty() || seats->size() != holds->size()) {
            return std::nullopt;
        }
        session.seats = std::move(*seats);
        session.seat_hold_ids = std::move(*holds);
    }
    return session;
}

}  // namespace tigerfans::sessions::redis

// Beast's basic_parser callbacks filling a reused Request (see request_parser.hpp).
#include "http/request_parser.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <optional>
#include <string>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::http {

RequestParser::RequestParser(Request& request, std::size_t header_bytes_max,
                             std::size_t body_bytes_max)
    : request_(request), header_bytes_max_(header_bytes_max) {
    TF_ASSERT(header_bytes_max <= UINT32_MAX);
    header_limit(static_cast<std::uint32_t>(header_bytes_max));
    body_limit(body_bytes_max);
    eager(true);  // Parse the body in the same put() as the header when it is there.
}

namespace {
// An authority as this server takes it, in an absolute form or a Host field (RFC 3986 §3.2.2,
// §3.2.3): a host name or IPv4 address, or an IPv6 address in brackets, then an optional
// ":port" of digits. Nothing else: no user info, fragment, backslash, escape or bare IPv6
// address, which parsers read differently. Underscores are let through in names: some private
// host names carry them.
bool is_plain_authority(std::string_view authority) {
    const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    std::string_view host = authority;
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
        const std::string_view port = authority.substr(colon + 1);
        if (port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit)) return false;
        host = authority.substr(0, colon);
    }
    if (host.empty()) return false;
    if (host.front() == '[') {
        if (host.size() < 4 || host.back() != ']') return false;
        host = host.substr(1, host.size() - 2);
        if (host.find(':') == std::string_view::npos) return false;
        return std::all_of(host.begin(), host.end(), [&](char c) {
            return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
                   c == '.';
        });
    }
    return std::all_of(host.begin(), host.end(), [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
               c == '-' || c == '_';
    });
}

// Boost's categories are never deleted through their base, whose destructor is protected and
// not virtual on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class RequestErrorCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "tigerfans.http.request"; }
    std::string message(int value) const override {
        switch (static_cast<RequestError>(value)) {
            case RequestError::missing_host: return "an HTTP/1.1 request needs a Host field";
            case RequestError::repeated_host: return "a request may carry one Host field only";
            case RequestError::bad_host:
                return "the Host field is not a host name or address with an optional port";
        }
        return "bad request";
    }
};
#pragma GCC diagnostic pop

// RFC 9112 §3.2.2: a server accepts a target in absolute form ("http://host/path?query") as
// the path and query it names ("http://host" and "http://host?q" name "/" and "/?q"), its
// authority in `authority`; nullopt when `target` is not one, "" when it is one with an
// authority this server does not take.
std::optional<std::string> absolute_form_target(std::string_view target, std::string& authority) {
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() < scheme.size()) continue;
        const bool same = std::equal(scheme.begin(), scheme.end(), target.begin(),
                                     [](char a, char b) { return a == (b | 0x20); });
        if (!same) continue;
        const std::size_t rest = target.find_first_of("/?", scheme.size());
        authority.assign(target.substr(scheme.size(), rest - scheme.size()));
        if (!is_plain_authority(authority)) return std::string();
        if (rest == std::string_view::npos) return std::string("/");
        if (target[rest] == '?') return "/" + std::string(target.substr(rest));
        return std::string(target.substr(rest));
    }
    return std::nullopt;
}

// A request line and its CRLF, beside the method and target: " HTTP/1.1\r\n".
constexpr std::size_t request_line_rest_bytes = 11;
// A field's colon, space and CRLF beside its name and value.
constexpr std::size_t field_rest_bytes = 4;
}  // namespace

boost::system::error_code make_error_code(RequestError error) {
    static const RequestErrorCategory category;
    return {static_cast<int>(error), category};
}

void RequestParser::on_request_impl(verb, string_view method_text, string_view target, int version,
                                    error_code& error) {
    version_ = version;
    header_bytes_ = method_text.size() + target.size() + request_line_rest_bytes;
    saw_transfer_encoding_ = false;
    host_fields_ = 0;
    request_.method = http::parse_method(method_text);
    target_authority_.clear();
    if (std::optional<std::string> origin_form = absolute_form_target(target, target_authority_)) {
        request_.target = std::move(*origin_form);
    } else {
        request_.target.assign(target.data(), target.size());
    }
    target = request_.target;
    // Only an origin form ("/path?query") names a resource here; "*" and authority forms name
    // none we serve.
    if (target.empty() || target.front() != '/') error = boost::beast::http::error::bad_target;
    const std::size_t question = target.find('?');
    const std::string_view raw_path = target.substr(0, question);
    if (!percent_decode_to(raw_path, false, request_.path)) request_.path.assign(raw_path);
    if (question == std::string_view::npos) {
        request_.query.clear();
    } else {
        request_.query.assign(target.substr(question + 1));
    }
    request_.body.clear();
    request_.path_params.clear();
    header_count_ = 0;
    transfer_codings_.clear();
}

void RequestParser::on_response_impl(int, string_view, int, error_code&) {
    TF_ASSERT(false && "a request parser never sees a status line");
}

// Overwrites the previous request's header pairs in place: their strings keep their capacity.
// The fields of a chunked body's trailer are dropped: no header of ours may come from there
// (RFC 9110 §6.5.1), where a proxy checking the header would not look.
void RequestParser::on_field_impl(field known, string_view name_text, string_view value,
                                  error_code& error) {
    if (is_header_done()) return;
    header_bytes_ += name_text.size() + value.size() + field_rest_bytes;
    if (header_bytes_ > header_bytes_max_) {
        error = boost::beast::http::error::header_limit;
        return;
    }
    if (header_count_ < request_.headers.size()) {
        auto& [name, text] = request_.headers[header_count_];
        name.assign(name_text.data(), name_text.size());
        text.assign(value.data(), value.size());
    } else {
        request_.headers.emplace_back(std::string(name_text), std::string(value));
    }
    header_count_++;
    if (known == field::host) {
        // An empty value is allowed: a client sends it for a target without an authority.
        if (++host_fields_ > 1) error = RequestError::repeated_host;
        if (!value.empty() && !is_plain_authority(value)) error = RequestError::bad_host;
    }
    if (known == field::transfer_encoding) {
        saw_transfer_encoding_ = true;
        if (!transfer_codings_.empty()) transfer_codings_ += ',';
        transfer_codings_.append(value.data(), value.size());
    }
}

// Any other Transfer-Encoding (an empty one included) leaves the body unframed: its bytes
// would be read as the next request (a desync behind any proxy). Such a request is refused and
// its connection closed, as is any Transfer-Encoding on HTTP/1.0, which RFC 9112 §6.1 calls
// faulty framing whatever it says.
void RequestParser::on_header_impl(error_code& error) {
    request_.headers.resize(header_count_);
    if (version_ >= 11 && host_fields_ == 0) {
        error = RequestError::missing_host;
        return;
    }
    // An absolute-form target's authority names the host, whatever Host says (RFC 9112 §3.2.2).
    if (!target_authority_.empty()) {
        for (auto& [name, value] : request_.headers) {
            if (boost::beast::iequals(name, "host")) value = target_authority_;
        }
        if (host_fields_ == 0) request_.headers.emplace_back("Host", target_authority_);
    }
    if (saw_transfer_encoding_ && (version_ < 11 || !ends_in_chunked(transfer_codings_))) {
        error = boost::beast::http::error::bad_transfer_encoding;
    }
}

bool ends_in_chunked(std::string_view codings) {
    const std::size_t comma = codings.rfind(',');
    std::string_view last = comma == std::string_view::npos ? codings : codings.substr(comma + 1);
    while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
    while (!last.empty() && (last.back() == ' ' || last.back() == '\t')) last.remove_suffix(1);
    constexpr std::string_view chunked = "chunked";
    return last.size() == chunked.size() &&
           std::equal(last.begin(), last.end(), chunked.begin(),
                      [](char a, char b) { return (a | 0x20) == b; });
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code&) {
    if (content_length) {
        request_.body.reserve(static_cast<std::size_t>(
            std::min<std::uint64_t>(*content_length, limits::http_body_reserve_bytes_max)));
    }
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
    request_.body.append(body.data(), body.size());
    return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t size, string_view, error_code&) {
    chunk_data_left_ = size;
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t remain, string_view body, error_code&) {
    request_.body.append(body.data(), body.size());
    TF_ASSERT_GE(remain, body.size());  // `remain` counts `body` too.
    chunk_data_left_ = remain - body.size();
    return body.size();
}

void RequestParser::on_finish_impl(error_code&) {}

namespace {
// The shortest rest of an unfinished chunked body: the last chunk and the final CRLF, "0\r\n\r\n".
constexpr std::size_t chunked_rest_bytes_min = 5;

// Beast 1.81 asserts that a chunked body whose first chunk is the last one ("0\r\n") is fed
// again with at least 5 bytes, so "0\r\n" followed by one more byte would abort the server
// (asserts stay on in every build). No chunked body ends in fewer bytes: waiting for them
// delays nothing.
bool waits_for_chunked_rest(const RequestParser& parser, std::size_t buffered) {
    return parser.is_header_done() && parser.chunked() && buffered < chunked_rest_bytes_min;
}

// Between chunks, what Beast leaves unparsed of a chunked body is a chunk's size line (with the
// CRLF ending the chunk before) or the trailer: lines that end in CRLF. It waits for a CR before
// a line's end, so a line ending in a bare LF would wait out the idle timeout; it is refused at
// once instead. (Within a chunk's data, held back when fewer than 5 bytes wait, any byte goes.)
// Only the bytes from `from` on are looked at: those before were, when the same bytes waited.
bool holds_bare_line_feed(const boost::beast::flat_buffer& buffer, std::size_t from) {
    const auto* bytes = static_cast<const char*>(buffer.data().data());
    for (std::size_t i = from; i < buffer.size(); i++) {
        if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) return true;
    }
    return false;
}
}  // namespace

bool RequestParser::leave_header_room() {
    if (header_wire_bytes_ >= header_bytes_max_) return false;
    header_limit(static_cast<std::uint32_t>(header_bytes_max_ - header_wire_bytes_));
    return true;
}

boost::beast::error_code parse_buffered(RequestParser& parser, boost::beast::flat_buffer& buffer) {
    namespace bhttp = boost::beast::http;
    bool consumed = false;
    while (buffer.size() > 0 && !waits_for_chunked_rest(parser, buffer.size())) {
        boost::beast::error_code error;
        const bool in_header = !parser.is_header_done();
        if (in_header && !parser.leave_header_room()) return bhttp::error::header_limit;
        const std::size_t used = parser.put(buffer.data(), error);
        buffer.consume(used);
        consumed = consumed || used > 0;
        if (in_header) parser.count_header_bytes(used);
        if (error == bhttp::error::need_more) break;
        if (error) return error;
        if (parser.is_done()) return {};
    }
    if (buffer.size() > parser.unparsed_bytes_max()) return bhttp::error::header_limit;
    if (parser.is_header_done() && parser.chunked() && parser.between_chunks()) {
        // A slow trickle of a long line is looked at once, not again at every read.
        const std::size_t from = consumed ? 0 : parser.body_bytes_checked;
        if (holds_bare_line_feed(buffer, from)) return bhttp::error::bad_line_ending;
        parser.body_bytes_checked = buffer.size();
    }
    return bhttp::error::need_more;
}

boost::beast::error_code parse_end_of_stream(RequestParser& parser) {
    namespace bhttp = boost::beast::http;
    if (!parser.got_some()) return bhttp::error::end_of_stream;
    boost::beast::error_code error;
    parser.put_eof(error);
    return error ? error : boost::beast::error_code(bhttp::error::partial_message);
}

}  // namespace tigerfans::http

// Ticket slots per email address.
#include "tigerfans/flows/email_limit.hpp"

#include <spdlog/spdlog.h>

#include "flows/checkout_undo.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::flows {

namespace {
constexpr std::uint64_t milliseconds_per_second = 1'000;

bool limited(const Services& services) { return services.config.tickets_per_email > 0; }
}  // namespace

std::string normalize_email(std::string_view email) {
    constexpr std::string_view blanks = " \t\r\n";
    const std::size_t first = email.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    const std::size_t last = email.find_last_not_of(blanks);
    std::string normal(email.substr(first, last - first + 1));
    for (char& c : normal) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return normal;
}

std::uint64_t held_slot_ms(const config::Config& config) {
    return (std::uint64_t{config.reservation_ttl_s} + limits::session_ttl_margin_s) *
           milliseconds_per_second;
}

asio::awaitable<Result<bool>> claim_email_slot(Services& services, std::string_view email,
                                               std::string_view order_id) {
    if (!limited(services)) co_return true;
    const std::string normal = normalize_email(email);
    TF_ASSERT(!normal.empty());  // Checkout validated the address.
    co_return co_await services.sessions.claim_email_slot(
        normal, order_id, held_slot_ms(services.config), services.config.tickets_per_email);
}

asio::awaitable<void> free_email_slot(Services& services, std::string_view email,
                                      std::string_view order_id, std::int64_t claimed_us) {
    if (!limited(services)) co_return;
    const std::string normal = normalize_email(email);
    Status freed = co_await services.sessions.settle_email_slot(normal, order_id, false);
    if (freed) co_return;
    spdlog::warn("checkout: could not free the email slot of order {} ({}); retrying", order_id,
                 fault_name(freed.fault()));
    const auto slot_ends_us =
        claimed_us + static_cast<std::int64_t>(held_slot_ms(services.config)) * 1'000;
    undo_later(
        services, "the email slot of order " + std::string(order_id),
        [&services, normal, order = std::string(order_id)] {
            return services.sessions.settle_email_slot(normal, order, false);
        },
        slot_ends_us);
}

asio::awaitable<Status> settle_email_slot(Services& services, std::string_view email,
                                          std::string_view order_id, bool paid) {
    if (!limited(services)) co_return done();
    const std::string normal = normalize_email(email);
    co_return co_await services.sessions.settle_email_slot(normal, order_id, paid);
}

}  // namespace tigerfans::flows

// What this process's latest holds found: whether each class still had a ticket and whether a
// goodie came with the last ticket. A checkout that expects a ticket writes its payment session
// while the ledger holds, with the goodie it expects (flows/checkout.cpp); a wrong guess costs
// one more write (the session corrected, or removed when the ticket was gone), never a session
// that disagrees with the ledger once the checkout has answered. Loop thread only.
#pragma once

#include <array>
#include <cstddef>

#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/core/ticket.hpp"

namespace tigerfans::flows {

class HoldOutlook {
public:
    bool ticket_expected(TicketClass cls) const { return ticket_left_[index(cls)]; }
    bool goodie_expected() const { return goodie_left_; }

    void note(TicketClass cls, const accounting::HoldResult& held) {
        ticket_left_[index(cls)] = held.ticket_held;
        // A sold-out answer says nothing of the goodies: the ledger kept none back for it.
        if (held.ticket_held) goodie_left_ = held.goodie_held;
    }

private:
    static std::size_t index(TicketClass cls) { return static_cast<std::size_t>(cls); }

    std::array<bool, ticket_classes.size()> ticket_left_{true, true};
    bool goodie_left_ = true;
};

}  // namespace tigerfans::flows

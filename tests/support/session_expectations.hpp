// One field-by-field comparison of payment sessions for every store's tests.
#pragma once

#include "tigerfans/sessions/session_store.hpp"

namespace tigerfans::testing {

// Every field of `actual` equals the one of `expected` (gtest expectations, one per field).
void expect_same_session(const sessions::PaymentSession& actual,
                         const sessions::PaymentSession& expected);

}  // namespace tigerfans::testing

// Level 1 and 2 accounting: PostgreSQL with TigerBeetle's semantics (holds that expire by
// themselves, post, void, no oversell under any concurrency), group-committed on a database
// thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::accounting {

// `venue` (VENUE's seats, or null) must outlive the ledger.
std::unique_ptr<Ledger> make_postgres_ledger(boost::asio::any_io_executor loop,
                                             std::string database_url, Capacities capacities,
                                             metrics::Registry& registry,
                                             const seating::Venue* venue = nullptr);

}  // namespace tigerfans::accounting

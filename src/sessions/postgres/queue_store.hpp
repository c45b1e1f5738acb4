// The waiting room's queue in PostgreSQL (level 1), on a database thread of its own. Tables:
//
//   queue_entries(entry_id pk, key, joined_us, state, admitted_seq, admitted_us, tickets_used,
//       keep_until): one row per entry, state 0 while waiting and 1 once admitted; the waiting
//       ones indexed in the queue's order, (key, entry_id COLLATE "C"), so that the first ones
//       and an entry's place are index scans.
//   queue_sale_sequence: the sale's join sequence, the value of a sale join's key.
//   queue_counters(admitted, forgotten): one row, the admissions so far (the admission steps
//       lock it, so two never run at once) and the admitted entries deleted once kept long
//       enough (joins so far = rows + forgotten).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/queue/queue_store.hpp"

namespace tigerfans::sessions {

// Each step is one job on the store's database thread, which keeps no metrics: `registry` is
// taken for the factories' common form.
std::unique_ptr<queue::QueueStore> make_postgres_queue_store(boost::asio::any_io_executor loop,
                                                             std::string database_url,
                                                             metrics::Registry& registry);

}  // namespace tigerfans::sessions

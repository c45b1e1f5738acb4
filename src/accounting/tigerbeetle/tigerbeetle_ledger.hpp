// Level 3 accounting: TigerBeetle through the official C client (libtb_client 0.17.8), loaded
// at run time from TB_CLIENT_LIB, every transfer going through one automatic batcher.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "tigerfans/accounting/ledger.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/metrics/metrics.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::accounting {

struct TigerBeetleOptions {
    std::string client_library_path;  // libtb_client.so
    std::string addresses;            // TB_ADDRESS, e.g. "3000" or "127.0.0.1:3000"
    std::uint64_t cluster_id = 0;
    std::uint32_t batch_events_max = limits::tb_batch_events_max;
    std::uint32_t batches_in_flight = limits::tb_batches_in_flight_default;
    Capacities capacities;
    const seating::Venue* venue = nullptr;  // VENUE's seats, if any; must outlive the ledger.
};

std::unique_ptr<Ledger> make_tigerbeetle_ledger(boost::asio::any_io_executor loop,
                                                TigerBeetleOptions options,
                                                metrics::Registry& registry);

}  // namespace tigerfans::accounting

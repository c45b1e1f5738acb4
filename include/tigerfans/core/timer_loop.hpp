// The periodic loops of the server (the reconciler, the admission step, the admin's live
// sampler) sleep on a timer of their own between rounds: these start one, with a flag that
// stays true while it runs, and stop one at shutdown, waiting a bounded time for it to end.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>

namespace tigerfans {

// Runs `loop` on `executor`; `running` is true until it ends. An exception that ends it is
// logged, naming `what`.
void spawn_timer_loop(const boost::asio::any_io_executor& executor,
                      boost::asio::awaitable<void> loop, bool& running, std::string what);

// Cancels `timer` (again every few milliseconds, in case the loop armed it anew) until
// `running()` turns false or `wait` has passed. The loop is to check its own stop flag, set
// before this is called, after each wait on the timer.
boost::asio::awaitable<void> stop_timer_loop(boost::asio::steady_timer& timer,
                                             std::function<bool()> running,
                                             std::chrono::milliseconds wait);

}  // namespace tigerfans

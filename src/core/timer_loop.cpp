// Starting and stopping the server's periodic loops.
#include "tigerfans/core/timer_loop.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tigerfans/core/exception_text.hpp"

namespace tigerfans {

namespace asio = boost::asio;

void spawn_timer_loop(const asio::any_io_executor& executor, asio::awaitable<void> loop,
                      bool& running, std::string what) {
    running = true;
    asio::co_spawn(executor, std::move(loop),
                   [&running, what = std::move(what)](const std::exception_ptr& failure) {
                       running = false;
                       if (failure) {
                           spdlog::error("{}: the loop stopped on an exception: {}", what,
                                         exception_text(failure));
                       }
                   });
}

asio::awaitable<void> stop_timer_loop(asio::steady_timer& timer, std::function<bool()> running,
                                      std::chrono::milliseconds wait) {
    boost::system::error_code ignored;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (running() && std::chrono::steady_clock::now() < deadline) {
        timer.cancel();
        asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
}

}  // namespace tigerfans

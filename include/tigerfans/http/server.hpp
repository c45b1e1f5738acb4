// The HTTP/1.1 server: Boost.Beast on the loop thread, one coroutine per connection reading,
// handling and writing in a straight line, keep-alive, named limits, graceful shutdown.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tigerfans/http/router.hpp"
#include "tigerfans/metrics/metrics.hpp"

namespace tigerfans::http {

struct ServerLimits {
    std::size_t header_bytes_max;
    std::size_t body_bytes_max;
    std::size_t connections_max;
    std::chrono::milliseconds idle_timeout;
    std::chrono::milliseconds request_timeout;
    std::size_t connections_per_address_max;  // One client cannot take every slot.
};
// The named limits; connections_max also stays below the process's open-files limit.
ServerLimits default_server_limits();

// Whether other processes may listen on the same port: the kernel then spreads new
// connections among every listener (SO_REUSEPORT), each keeping its connections to the end.
enum class PortSharing { exclusive, shared };

// Raises the soft open-files limit to the hard one (each connection is a descriptor) and
// returns the soft limit in force.
std::uint64_t raise_open_files_limit();

class Server {
public:
    Server(boost::asio::io_context& io, const Router& router, ServerLimits limits,
           metrics::Registry& registry);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // From now on, a request whose Host is not a loopback name (names_loopback_host) is
    // answered 421: for a server on loopback that only this machine may use. A request naming
    // another host reached it through a name that resolves here, such as a page whose DNS name
    // its owner pointed at 127.0.0.1 (DNS rebinding), which passes every same-origin check.
    void answer_only_loopback_hosts();

    // Binds and starts accepting; returns the bound port (useful with port 0). Throws on failure.
    std::uint16_t listen(const std::string& host, std::uint16_t port,
                         PortSharing sharing = PortSharing::exclusive);

    // Stops accepting, closes idle connections, lets requests in progress finish (their
    // connections then close) and force-closes whatever is left at the deadline.
    boost::asio::awaitable<void> shutdown(std::chrono::milliseconds drain_timeout);

    std::size_t connection_count() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tigerfans::http

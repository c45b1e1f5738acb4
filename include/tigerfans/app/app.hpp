// The whole server, wired: backends chosen by the configuration, the flows, MockPay, admin,
// pages, metrics and health, on one io_context run by one thread. main() and the integration
// tests both run it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "tigerfans/config/config.hpp"
#include "tigerfans/flows/reconcile.hpp"

namespace tigerfans::app {

class App {
public:
    explicit App(config::Config config);
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    // Starts the backends, listens, and serves until stop() (or SIGINT/SIGTERM when
    // `handle_signals`), then shuts down gracefully. `on_listening` gets the bound port once
    // requests are accepted. Returns the process exit code (1 when start-up failed).
    int run(bool handle_signals, std::function<void(std::uint16_t port)> on_listening = {});

    // Thread-safe: begins the graceful shutdown.
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// `tigerfans reconcile`: one reconciliation pass against the configured ledger and orders, its
// report printed on stdout (text, or JSON with `json`).
// Returns 0 when nothing needs a person, 3 when findings do, 1 when a store is unreachable.
int reconcile_once(const config::Config& config, flows::ReconcileOptions options, bool json);

}  // namespace tigerfans::app

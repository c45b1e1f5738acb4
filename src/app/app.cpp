// Wiring: builds the backends the configuration names, starts them, registers every route,
// serves, and shuts down in order (stop accepting, drain requests, wait for the work they left
// in the background, flush the batchers, close the clients).
#include "tigerfans/app/app.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "accounting/postgres/postgres_ledger.hpp"
#include "accounting/tigerbeetle/tigerbeetle_ledger.hpp"
#include "app/static_admission.hpp"
#include "orders/postgres_order_store.hpp"
#include "sessions/postgres/postgres_session_store.hpp"
#include "sessions/postgres/queue_store.hpp"
#include "sessions/redis/queue_store.hpp"
#include "sessions/redis/store.hpp"
#include "tigerfans/accounting/seat_ledger.hpp"
#include "tigerfans/admin/live.hpp"
#include "tigerfans/admin/routes.hpp"
#include "tigerfans/app/pages.hpp"
#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/background_tasks.hpp"
#include "tigerfans/core/clock.hpp"
#include "tigerfans/core/crypto.hpp"
#include "tigerfans/core/exception_text.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/flows/api.hpp"
#include "tigerfans/flows/reconcile.hpp"
#include "tigerfans/flows/waiting_room.hpp"
#include "tigerfans/http/errors.hpp"
#include "tigerfans/http/rate_limit.hpp"
#include "tigerfans/http/server.hpp"
#include "tigerfans/http/static_files.hpp"
#include "tigerfans/mockpay/mockpay.hpp"
#include "tigerfans/seating/recent_holds.hpp"
#include "tigerfans/seating/routes.hpp"
#include "tigerfans/seating/seat_map.hpp"
#include "tigerfans/seating/venue.hpp"

namespace tigerfans::app {

namespace asio = boost::asio;

namespace {
std::unique_ptr<accounting::Ledger> make_ledger(asio::any_io_executor loop,
                                                const config::Config& config,
                                                metrics::Registry& registry,
                                                const seating::Venue* venue) {
    const accounting::Capacities capacities{config.capacity_a, config.capacity_b,
                                            config.goodie_limit};
    if (config.accounting == config::AccountingBackend::postgres) {
        return accounting::make_postgres_ledger(loop, config.database_url, capacities, registry,
                                                venue);
    }
    accounting::TigerBeetleOptions options{config.tb_client_lib,
                                           config.tb_address,
                                           config.tb_cluster_id,
                                           config.tb_batch_events_max,
                                           config.tb_batches_in_flight,
                                           capacities,
                                           venue};
    return accounting::make_tigerbeetle_ledger(loop, std::move(options), registry);
}

std::unique_ptr<sessions::SessionStore> make_sessions(asio::any_io_executor loop,
                                                      const config::Config& config,
                                                      metrics::Registry& registry) {
    if (config.sessions == config::SessionBackend::postgres) {
        return sessions::make_postgres_store(loop, config.database_url, registry);
    }
    return sessions::make_redis_store(loop, config.redis_url, registry);
}

// The waiting room's queue sits beside the payment sessions: Redis, or PostgreSQL at level 1.
std::unique_ptr<queue::QueueStore> make_queue_store(asio::any_io_executor loop,
                                                    const config::Config& config,
                                                    metrics::Registry& registry) {
    if (config.sessions == config::SessionBackend::postgres) {
        return sessions::make_postgres_queue_store(loop, config.database_url, registry);
    }
    return sessions::make_redis_queue_store(loop, config.redis_url, registry);
}

// With WAITING_ROOM=off the queue's routes say so instead of a bare 404.
http::Routes waiting_room_off_routes() {
    auto off = [](http::Request&) -> asio::awaitable<http::Response> {
        co_return http::error_response(404, "waiting_room_off",
                                       "this server has no waiting room (WAITING_ROOM=off)");
    };
    return {{http::Method::post, "/api/queue/join", off},
            {http::Method::get, "/api/queue/{id}", off}};
}

http::RateLimit rate_limit(const config::Config& config) {
    return http::RateLimit{config.rate_limit_per_second, config.rate_limit_burst};
}
}  // namespace

struct App::Impl {
    explicit Impl(config::Config config_)
        : config(std::move(config_)),
          io(1),
          stop_signal(io),
          timings(registry),
          background(io.get_executor(), limits::background_tasks_max),
          templates(config.web_root + "/templates"),
          static_files(config.web_root + "/static"),
          auth(config.admin_username, config.admin_password, config.session_secret,
               &login_throttle),
          checkout_rate(rate_limit(config)),
          login_rate(rate_limit(config)),
          join_rate(rate_limit(config)) {
        stop_signal.expires_at(asio::steady_timer::time_point::max());
        // Which process answered a scrape, when several share the port (a name is plain text:
        // config.cpp allows no quote or backslash in it).
        const std::string labels = "server=\"" + config.server_name + "\",level=\"" +
                                   std::string(config::backend_level_name(config)) + "\"";
        registry.gauge("tigerfans_server_info", "1, labelled with this process's name", labels)
            .set(1);
        const bool tb = config.accounting == config::AccountingBackend::tigerbeetle;
        const bool redis = config.sessions == config::SessionBackend::redis;
        // With the waiting room on, a fan who wants a ticket goes to the queue first.
        templates.set_globals({{"accounting_backend", tb ? "TigerBeetle" : "PostgreSQL"},
                               {"session_backend", redis ? "Redis" : "PostgreSQL"},
                               {"ticket_href", config.waiting_room ? "/queue" : "/demo/checkout"}});
    }

    asio::awaitable<int> serve(std::function<void(std::uint16_t)> on_listening);
    asio::awaitable<bool> start_backends();
    bool load_venue();
    void add_routes();
    std::unique_ptr<admin::LiveSampler> make_live_sampler();
    void start_seating();
    std::uint16_t listen();
    http::Routes service_routes();
    asio::awaitable<http::Response> healthz();
    bool may_read_metrics(const http::Request& request) const;
    asio::awaitable<void> shutdown();

    config::Config config;
    asio::io_context io{1};  // One thread runs it: posts from that thread skip the lock.
    asio::steady_timer stop_signal;
    bool stop_requested = false;
    metrics::Registry registry;
    flows::Timings timings;
    BackgroundTasks background;  // Work the requests do after their answers.
    http::Templates templates;
    http::StaticFiles static_files;
    admin::Auth auth;
    admin::LoginThrottle login_throttle;
    http::RateLimiter checkout_rate;  // Per client address, each route with buckets of its own.
    http::RateLimiter login_rate;
    http::RateLimiter join_rate;
    IdGenerator ids;
    flows::HoldOutlook outlook;
    http::Router router;

    std::unique_ptr<accounting::Ledger> ledger;
    std::unique_ptr<sessions::SessionStore> sessions;
    std::unique_ptr<orders::OrderStore> orders;
    std::unique_ptr<seating::Venue> venue;         // With VENUE set.
    std::unique_ptr<seating::SeatMap> seat_map;    // With VENUE set.
    std::unique_ptr<seating::BestAvailable> best;  // With VENUE set.
    seating::RecentHolds recent_holds;
    std::unique_ptr<flows::Seating> seat_sale;         // With VENUE set.
    std::unique_ptr<queue::QueueStore> queue_store;    // With the waiting room on.
    std::unique_ptr<flows::WaitingRoom> waiting_room;  // With the waiting room on.
    std::unique_ptr<flows::Services> services;
    std::unique_ptr<mockpay::MockPay> mockpay;
    std::unique_ptr<flows::Reconciler> reconciler;
    std::unique_ptr<StaticAdmission> no_waiting_room;  // With the waiting room off.
    queue::AdmissionControl* admission = nullptr;      // The waiting room, or the one above.
    std::unique_ptr<admin::LiveSampler> live;
    std::unique_ptr<http::Server> server;
    // METRICS_PORT: /metrics and /healthz on a port of this process alone, so a scraper reaches
    // every process of a shared port. Its own traffic counts in a registry of its own.
    http::Router scrape_router;
    metrics::Registry scrape_registry;
    std::unique_ptr<http::Server> scrape_server;
};

// VENUE's file, checked as a whole before anything starts: every mistake is logged.
bool App::Impl::load_venue() {
    if (config.venue.empty()) return true;
    const std::string path = config::venue_path(config);
    auto loaded = seating::load_venue(path);
    if (auto* errors = std::get_if<seating::VenueErrors>(&loaded)) {
        for (const std::string& line : errors->lines) spdlog::critical("venue {}: {}", path, line);
        return false;
    }
    venue = std::make_unique<seating::Venue>(std::get<seating::Venue>(std::move(loaded)));
    spdlog::info("venue {} ({}): {} seats in {} sections", venue->id, venue->name,
                 venue->seat_count, venue->sections.size());
    return true;
}

asio::awaitable<bool> App::Impl::start_backends() {
    Status orders_started = co_await orders->start();
    Status ledger_started = co_await ledger->start();
    Status sessions_started = co_await sessions->start();
    // The queue's store is where the sessions are: it fails and recovers with them. It starts
    // whatever the sessions' start found: a Redis client connects only once started, and then
    // keeps reconnecting by itself, so one skipped here would never serve the waiting room.
    if (queue_store) {
        Status queue_started = co_await queue_store->start();
        if (sessions_started && !queue_started) sessions_started = queue_started;
    }
    bool ok = true;
    for (const auto& [what, status] : {std::pair{"orders (PostgreSQL)", orders_started},
                                       std::pair{"accounting", ledger_started}}) {
        if (status) continue;
        spdlog::critical("cannot start {}: {}", what, fault_name(status.fault()));
        ok = false;
    }
    if (!sessions_started) {
        // Redis reconnects by itself: serve what does not need it and recover when it is back.
        const bool redis = config.sessions == config::SessionBackend::redis;
        const auto level = redis ? spdlog::level::warn : spdlog::level::critical;
        spdlog::log(level, "payment sessions unavailable at start: {}{}",
                    fault_name(sessions_started.fault()),
                    redis ? " (retrying in the background)" : "");
        ok = ok && redis;
    }
    co_return ok;
}

asio::awaitable<http::Response> App::Impl::healthz() {
    const bool accounting_ok = co_await ledger->healthy();
    bool sessions_ok = co_await sessions->healthy();
    if (queue_store && sessions_ok) sessions_ok = co_await queue_store->healthy();
    const bool orders_ok = co_await orders->healthy();
    const bool ok = accounting_ok && sessions_ok && orders_ok;
    const nlohmann::json body = {
        {"ok", ok},
        {"server", config.server_name},
        {"level", config::backend_level_name(config)},
        {"backends",
         {{"accounting", {{"backend", ledger->backend_name()}, {"ok", accounting_ok}}},
          {"payment_sessions", {{"backend", sessions->backend_name()}, {"ok", sessions_ok}}},
          {"orders", {{"backend", "PostgreSQL"}, {"ok", orders_ok}}}}},
    };
    co_return http::Response::json(ok ? 200 : 503, body.dump());
}

// An admin, or the bearer of METRICS_TOKEN (a scraper) when one is configured.
bool App::Impl::may_read_metrics(const http::Request& request) const {
    if (auth.is_admin(request)) return true;
    const std::string_view header = request.header("authorization");
    constexpr std::string_view bearer = "Bearer ";
    return !config.metrics_token.empty() && header.starts_with(bearer) &&
           constant_time_equal(header.substr(bearer.size()), config.metrics_token);
}

// The admin's live view samples admission, the flows' counts, the ledger and the HTTP server's
// request latency (registered by the server, which exists by now).
std::unique_ptr<admin::LiveSampler> App::Impl::make_live_sampler() {
    const metrics::Histogram* request_seconds =
        registry.find_histogram("tigerfans_http_request_seconds", "");
    TF_ASSERT(request_seconds != nullptr && admission && ledger);
    return std::make_unique<admin::LiveSampler>(
        io.get_executor(),
        admin::LiveSources{*admission, *ledger, timings.checkouts, timings.sales, *request_seconds},
        std::chrono::milliseconds(limits::live_sample_interval_ms), limits::live_samples_max,
        std::chrono::milliseconds(limits::live_ledger_stale_ms));
}

// The venue's map, read from the ledger's seats (which start_backends set up), and what
// checkout sells seats with. The map's first read starts before the server listens, so the
// first fans after a start do not all wait for a read of every seat; nothing waits for it
// here (a ledger that stops answering must not keep the server from listening or stopping).
void App::Impl::start_seating() {
    if (!venue) return;
    accounting::SeatLedger* seats = ledger->seats();
    TF_ASSERT(seats != nullptr);
    seating::SeatMap::Settings map_settings;
    map_settings.keep_warm_ms = limits::seat_map_keep_warm_ms;
    // The map's ages and pacing run on a clock that is never set: on the wall clock, one set
    // back an hour would leave the map unread for that hour (its next read "not yet due").
    seat_map = std::make_unique<seating::SeatMap>(
        io.get_executor(), *venue, [seats] { return seats->seat_states(); },
        [] { return steady_now_us(); }, map_settings);
    best = std::make_unique<seating::BestAvailable>(*venue);
    seat_sale = std::make_unique<flows::Seating>(
        flows::Seating{*venue, *seats, *seat_map, *best, recent_holds});
    seat_map->prime();
}

// Opens the scrape port, if any, and then the API's port (the one it got, for port 0).
std::uint16_t App::Impl::listen() {
    const std::uint64_t open_files_max = http::raise_open_files_limit();
    const http::ServerLimits server_limits = http::default_server_limits();
    spdlog::info("connections: at most {} ({} per address; open files limit {})",
                 server_limits.connections_max, server_limits.connections_per_address_max,
                 open_files_max);
    server = std::make_unique<http::Server>(io, router, server_limits, registry);
    // A documented default secret is allowed on loopback only (config::load refuses it beyond),
    // where a page re-pointed at 127.0.0.1 by its owner's DNS could still use it from a
    // browser on this machine.
    const bool guarded_by_defaults = !config::default_secrets(config).empty();
    if (guarded_by_defaults) server->answer_only_loopback_hosts();
    const auto sharing =
        config.server_processes > 1 ? http::PortSharing::shared : http::PortSharing::exclusive;
    // The scrape port first: a process that cannot take it never joins the shared port.
    if (config.metrics_port != 0) {
        scrape_router.add(service_routes());
        scrape_server =
            std::make_unique<http::Server>(io, scrape_router, server_limits, scrape_registry);
        if (guarded_by_defaults) scrape_server->answer_only_loopback_hosts();
        scrape_server->listen(config.host, config.metrics_port);
        spdlog::info("{} serving /metrics and /healthz on {}:{}", config.server_name, config.host,
                     config.metrics_port);
    }
    return server->listen(config.host, config.port, sharing);
}

// Every route of the server: one table per module, each given only what it works with.
void App::Impl::add_routes() {
    auto is_admin = [this](const http::Request& request) { return auth.is_admin(request); };
    http::Routes api = flows::api_routes(*services, is_admin, waiting_room.get());
    http::limit_route(api, http::Method::post, "/api/checkout", checkout_rate);
    router.add(std::move(api));
    http::Routes queue = waiting_room ? waiting_room->routes() : waiting_room_off_routes();
    http::limit_route(queue, http::Method::post, "/api/queue/join", join_rate);
    router.add(std::move(queue));
    router.add(seating::venue_routes(venue.get(), seat_map.get()));
    router.add(page_routes(PagesContext{config, *orders, templates}));
    http::Routes admin = admin::admin_routes(
        admin::AdminContext{auth, login_throttle, config, *orders, *ledger, *reconciler, templates,
                            *admission, *live, *mockpay});
    http::limit_route(admin, http::Method::post, "/admin/login", login_rate);
    router.add(std::move(admin));
    router.add(mockpay->routes());
    router.add(static_files.routes());
    router.add(service_routes());
}

// The server's own state: health for load balancers, metrics for scrapers and admins.
http::Routes App::Impl::service_routes() {
    auto get_metrics = [this](http::Request& request) -> asio::awaitable<http::Response> {
        if (!may_read_metrics(request)) co_return http::unauthorized("admin login or token");
        co_return http::Response::text(200, registry.render_prometheus(),
                                       "text/plain; version=0.0.4; charset=utf-8");
    };
    return {
        {http::Method::get, "/healthz", [this](http::Request&) { return healthz(); }},
        {http::Method::get, "/metrics", http::not_stored(get_metrics)},
    };
}

asio::awaitable<int> App::Impl::serve(std::function<void(std::uint16_t)> on_listening) {
    const auto loop = io.get_executor();
    if (!load_venue()) co_return 1;
    orders = orders::make_postgres_order_store(loop, config.database_url,
                                               config.pg_order_connections, registry);
    ledger = make_ledger(loop, config, registry, venue.get());
    sessions = make_sessions(loop, config, registry);
    if (config.waiting_room) queue_store = make_queue_store(loop, config, registry);
    if (!co_await start_backends()) {
        co_await shutdown();
        co_return 1;
    }
    start_seating();
    const std::uint16_t port = listen();
    if (config.port == 0 && config.mock_webhook_url == config::own_webhook_url(config.host, 0)) {
        config.mock_webhook_url = config::own_webhook_url(config.host, port);
    }
    TF_ASSERT(ledger && sessions && orders);  // The flows get every store, started.
    services = std::make_unique<flows::Services>(
        flows::Services{config, *ledger, *sessions, *orders, ids, outlook, timings, registry,
                        seat_sale.get(), &background});
    mockpay = std::make_unique<mockpay::MockPay>(loop, config, *sessions, templates, registry,
                                                 background);
    reconciler = std::make_unique<flows::Reconciler>(
        loop, flows::ReconcileStores{*ledger, *orders, venue.get()}, config.reconcile_interval_s);
    if (queue_store) {
        waiting_room = std::make_unique<flows::WaitingRoom>(loop, config, *queue_store, *ledger,
                                                            unix_now_us(), seat_map.get());
        admission = waiting_room.get();
    } else {
        no_waiting_room = std::make_unique<StaticAdmission>(config);
        admission = no_waiting_room.get();
    }
    live = make_live_sampler();
    add_routes();  // Before the first accept completes: same thread, no await between.
    if (Status started = co_await mockpay->start(); !started) {
        // Payments still work; the redelivery loop tries again to start the outbox later.
        spdlog::error("mockpay: outbox unavailable at start: {}", fault_name(started.fault()));
    }
    spdlog::info("{} listening on {}:{} (level {}: accounting {}, payment sessions {}{})",
                 config.server_name, config.host, port, config::backend_level_name(config),
                 ledger->backend_name(), sessions->backend_name(),
                 config.server_processes > 1 ? "; port shared" : "");
    reconciler->start();
    if (waiting_room) {
        waiting_room->start();
        const queue::SaleTimeline& sale = waiting_room->timeline();
        spdlog::info("waiting room on: the pre-queue opens at {}, the sale at {}",
                     iso8601_utc(sale.prequeue_opens_us), iso8601_utc(sale.sale_opens_us));
    }
    live->start();
    if (on_listening) on_listening(port);

    boost::system::error_code ignored;
    while (!stop_requested) {
        co_await stop_signal.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    co_await shutdown();
    co_return 0;
}

asio::awaitable<void> App::Impl::shutdown() {
    spdlog::info("shutting down: draining requests");
    if (server) {
        co_await server->shutdown(std::chrono::milliseconds(limits::shutdown_drain_timeout_ms));
    }
    if (scrape_server) {
        co_await scrape_server->shutdown(
            std::chrono::milliseconds(limits::shutdown_drain_timeout_ms));
    }
    // What the answered requests left to do (MockPay's outbox removals) still needs the stores;
    // a request finishing later does its part itself.
    const std::size_t left =
        co_await background.stop(std::chrono::milliseconds(limits::shutdown_drain_timeout_ms));
    if (left > 0) spdlog::warn("shutting down with {} background tasks still running", left);
    if (mockpay) co_await mockpay->stop();
    if (waiting_room) {
        co_await waiting_room->stop(std::chrono::milliseconds(limits::shutdown_drain_timeout_ms));
    }
    if (reconciler) {
        co_await reconciler->stop(std::chrono::milliseconds(limits::shutdown_drain_timeout_ms));
    }
    if (live) co_await live->stop(std::chrono::milliseconds(limits::shutdown_drain_timeout_ms));
    if (seat_map) {
        co_await seat_map->stop(std::chrono::milliseconds(limits::shutdown_drain_timeout_ms));
    }
    // The batchers flush what is queued before their clients close.
    if (ledger) co_await ledger->stop();
    if (sessions) co_await sessions->stop();
    if (queue_store) co_await queue_store->stop();
    if (orders) co_await orders->stop();
    // A task still waiting on a store that has now stopped fails at once; one that does not
    // end is left to the process's exit: its event stays in the outbox and is delivered once
    // more, answered as a replay.
    if (left > 0) {
        const std::size_t stuck =
            co_await background.stop(std::chrono::milliseconds(limits::shutdown_drain_timeout_ms));
        if (stuck > 0) spdlog::error("{} background tasks did not end before the exit", stuck);
    }
    spdlog::info("shut down");
}

namespace {
// The first signal drains; one that comes a while later during the drain (which waits for the
// stores, however long a ledger that does not answer takes) ends the process at once, as a
// crash would: every promise holds across a crash. Signals sent together (a terminal's Ctrl-C
// reaching every process of `make run`, and run.sh's SIGTERM at the same moment) count as one.
constexpr std::chrono::seconds second_signal_after{2};

void wait_for_signal(asio::signal_set& signals, App& app,
                     std::chrono::steady_clock::time_point first) {
    signals.async_wait([&signals, &app, first](boost::system::error_code error, int signal) {
        if (error) return;
        const auto now = std::chrono::steady_clock::now();
        if (first == std::chrono::steady_clock::time_point{}) {
            app.stop();
            wait_for_signal(signals, app, now);
            return;
        }
        if (now - first >= second_signal_after) {
            spdlog::critical("signal {} during the shutdown: exiting at once", signal);
            spdlog::default_logger()->flush();
            std::_Exit(1);
        }
        wait_for_signal(signals, app, first);
    });
}
}  // namespace

App::App(config::Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

App::~App() = default;

int App::run(bool handle_signals, std::function<void(std::uint16_t port)> on_listening) {
    Impl& impl = *impl_;
    int exit_code = 1;
    asio::signal_set signals(impl.io);
    if (handle_signals) {
        signals.add(SIGINT);
        signals.add(SIGTERM);
        wait_for_signal(signals, *this, {});
    }
    // A start that throws (a port already taken, say) may leave an acceptor, timers and store
    // clients behind it: the loop stops with them rather than serve half a server.
    asio::co_spawn(
        impl.io, impl.serve(std::move(on_listening)), [&](std::exception_ptr failure, int code) {
            exit_code = failure ? 1 : code;
            signals.cancel();
            if (!failure) return;
            spdlog::critical("the server stopped on an exception: {}", exception_text(failure));
            impl.io.stop();
        });
    impl.io.run();
    return exit_code;
}

namespace {
struct ReconcileRun {
    asio::io_context io{1};
    metrics::Registry registry;
    std::unique_ptr<orders::OrderStore> orders;
    std::unique_ptr<accounting::Ledger> ledger;

    asio::awaitable<int> run(flows::ReconcileOptions options, bool json) {
        // Stopped on every way out: the ledger's stop ends a call the cluster never answered
        // (the attach's lookup, once it gave up), which would keep the loop running for good.
        if (!co_await start()) {
            co_await stop();
            co_return 1;
        }
        const flows::ReconcileStores stores{*ledger, *orders};
        auto report = co_await flows::reconcile(stores, options);
        co_await stop();
        if (!report) {
            spdlog::critical("reconcile: {}", fault_name(report.fault()));
            co_return 1;
        }
        const std::string text =
            json ? flows::to_json(*report).dump() + "\n" : flows::describe(*report);
        std::fputs(text.c_str(), stdout);
        co_return report->clean() ? 0 : 3;
    }

    // Attaches to what the server set up; creates and changes nothing (the orders table is
    // not created either: the first read fails when it is missing).
    asio::awaitable<bool> start() {
        Status attached = co_await ledger->attach();
        if (attached) co_return true;
        spdlog::critical("reconcile: cannot reach the ledger: {}", fault_name(attached.fault()));
        co_return false;
    }

    asio::awaitable<void> stop() {
        co_await ledger->stop();
        co_await orders->stop();
    }
};
}  // namespace

int reconcile_once(const config::Config& config, flows::ReconcileOptions options, bool json) try {
    ReconcileRun pass;
    const auto loop = pass.io.get_executor();
    pass.orders = orders::make_postgres_order_store(loop, config.database_url,
                                                    config.pg_order_connections, pass.registry);
    // Attached without the venue: this pass matches the classes; seat orders are counted, and
    // matched by the server's own periodic pass, which has the venue's seats.
    pass.ledger = make_ledger(loop, config, pass.registry, nullptr);
    int exit_code = 1;
    asio::co_spawn(pass.io, pass.run(options, json),
                   [&](std::exception_ptr failure, int code) { exit_code = failure ? 1 : code; });
    pass.io.run();
    return exit_code;
} catch (const std::exception& error) {
    spdlog::critical("reconcile: {}", error.what());
    return 1;
}

void App::stop() {
    asio::post(impl_->io, [this] {
        impl_->stop_requested = true;
        impl_->stop_signal.cancel();
    });
}

}  // namespace tigerfans::app

// The server's entry point: configuration from the environment, logging, then the app.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "tigerfans/app/app.hpp"
#include "tigerfans/config/config.hpp"
#include "tigerfans/core/crash_points.hpp"
#include "tigerfans/flows/reconcile.hpp"

namespace {

// Everything comes from the environment (the table below); the one argument is a command.
void print_usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: tigerfans [--help]\n"
                 "       tigerfans reconcile [--dry-run] [--json] [--grace-seconds N]\n"
                 "Serves the ticket sale over HTTP. `reconcile` instead runs one pass comparing\n"
                 "the ledger with the orders: it writes the order of every ticket sold without\n"
                 "one (not with --dry-run), prints what it found, and exits 0 when nothing needs\n"
                 "a person, 3 when something does, 1 when a store cannot be reached. Tickets\n"
                 "sold in the last N seconds (default 60) are left alone: their webhook may\n"
                 "still be writing the order.\n"
                 "Configured by environment variables:\n");
    for (const auto& option : tigerfans::config::options()) {
        const std::string_view fallback =
            option.default_value.empty() ? "derived" : option.default_value;
        std::fprintf(out, "  %-26.*s %.*s (default: %.*s)\n", static_cast<int>(option.name.size()),
                     option.name.data(), static_cast<int>(option.help.size()), option.help.data(),
                     static_cast<int>(fallback.size()), fallback.data());
    }
}

struct Command {
    bool reconcile = false;
    bool dry_run = false;
    bool json = false;
    std::optional<std::int64_t> grace_s;
};

std::optional<std::int64_t> seconds(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 0) return {};
    if (value > 7 * 24 * 3600) return {};
    return value;
}

// nullopt: print the usage (to stdout for --help, with exit code 0).
std::optional<Command> parse_command(int argc, char** argv) {
    Command command;
    if (argc == 1) return command;
    if (std::string_view(argv[1]) != "reconcile") return std::nullopt;
    command.reconcile = true;
    for (int i = 2; i < argc; i++) {
        const std::string_view flag = argv[i];
        if (flag == "--dry-run") {
            command.dry_run = true;
        } else if (flag == "--json") {
            command.json = true;
        } else if (flag == "--grace-seconds" && i + 1 < argc && seconds(argv[i + 1])) {
            command.grace_s = seconds(argv[++i]);
        } else {
            return std::nullopt;
        }
    }
    return command;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace tigerfans;
    const std::optional<Command> command = parse_command(argc, argv);
    if (!command) {
        const std::string_view argument = argv[argc - 1];
        const bool help = argc <= 3 && (argument == "--help" || argument == "-h");
        print_usage(help ? stdout : stderr);
        return help ? 0 : 2;
    }
    if (const char* crash_at = std::getenv("TIGERFANS_CRASH_AT"); crash_at && *crash_at) {
        if (auto error = crash::arm(crash_at)) {
            std::fprintf(stderr, "TIGERFANS_CRASH_AT: %s\n", error->c_str());
            return 2;
        }
        std::fprintf(stderr, "TIGERFANS_CRASH_AT=%s: this process will kill itself there\n",
                     crash_at);
    }
    const config::LoadResult loaded = config::load(config::environment_lookup());
    if (!loaded.ok()) {
        for (const auto& error : loaded.errors) std::fprintf(stderr, "config: %s\n", error.c_str());
        std::fprintf(stderr, "config: invalid configuration, not starting\n");
        return 2;
    }
    spdlog::set_level(spdlog::level::from_str(loaded.config.log_level));
    if (command->reconcile) {
        spdlog::set_default_logger(spdlog::stderr_color_mt("reconcile"));  // stdout: the report
        spdlog::set_level(spdlog::level::from_str(loaded.config.log_level));
        flows::ReconcileOptions options;
        options.repair = !command->dry_run;
        if (command->grace_s) options.grace_us = *command->grace_s * 1'000'000;
        return app::reconcile_once(loaded.config, options, command->json);
    }
    spdlog::info("TigerFans starting with:");
    for (const auto& line : config::describe(loaded.config)) spdlog::info("  {}", line);
    for (std::string_view name : config::default_secrets(loaded.config)) {
        spdlog::warn(
            "{} is still its documented default: fine on loopback ({}), never expose "
            "this server like that",
            name, loaded.config.host);
    }
    if (loaded.config.bench_endpoints) {
        spdlog::warn(
            "BENCH_ENDPOINTS=on: /api/accounting/reserve and /commit are open to anyone "
            "and move stock without orders; for benchmarks only");
    }
    try {
        app::App app(loaded.config);
        return app.run(true);
    } catch (const std::exception& error) {
        spdlog::critical("cannot start: {}", error.what());
        return 1;
    }
}

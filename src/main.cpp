// The server's entry point: configuration from the environment, logging, then the app.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tigerfans/app/app.hpp"
#include "tigerfans/config/config.hpp"
#include "tigerfans/core/crash_points.hpp"

namespace {

// The server takes no arguments: everything comes from the environment (the table below).
void print_usage(std::FILE* out) {
    std::fprintf(out, "usage: tigerfans [--help]\n"
                      "Serves the ticket sale over HTTP. Configured by environment variables:\n");
    for (const auto& option : tigerfans::config::options()) {
        const std::string_view fallback =
            option.default_value.empty() ? "derived" : option.default_value;
        std::fprintf(out, "  %-26.*s %.*s (default: %.*s)\n",
                     static_cast<int>(option.name.size()), option.name.data(),
                     static_cast<int>(option.help.size()), option.help.data(),
                     static_cast<int>(fallback.size()), fallback.data());
    }
}

}  // namespace

int main(int argc, char** argv) {
    using namespace tigerfans;
    if (argc > 1) {
        const std::string_view argument = argv[1];
        const bool help = argc == 2 && (argument == "--help" || argument == "-h");
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
    spdlog::info("TigerFans starting with:");
    for (const auto& line : config::describe(loaded.config)) spdlog::info("  {}", line);
    for (std::string_view name : config::default_secrets(loaded.config)) {
        spdlog::warn("{} is still its documented default: fine on loopback ({}), never expose "
                     "this server like that",
                     name, loaded.config.host);
    }
    if (loaded.config.bench_endpoints) {
        spdlog::warn("BENCH_ENDPOINTS=on: /api/accounting/reserve and /commit are open to anyone "
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

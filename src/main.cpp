// The server's entry point: configuration from the environment, logging, then the app.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "tigerfans/app/app.hpp"
#include "tigerfans/config/config.hpp"

int main() {
    using namespace tigerfans;
    const config::LoadResult loaded = config::load(config::environment_lookup());
    if (!loaded.ok()) {
        for (const auto& error : loaded.errors) std::fprintf(stderr, "config: %s\n", error.c_str());
        std::fprintf(stderr, "config: invalid configuration, not starting\n");
        return 2;
    }
    spdlog::set_level(spdlog::level::from_str(loaded.config.log_level));
    spdlog::info("TigerFans starting with:");
    for (const auto& line : config::describe(loaded.config)) spdlog::info("  {}", line);
    try {
        app::App app(loaded.config);
        return app.run(true);
    } catch (const std::exception& error) {
        spdlog::critical("cannot start: {}", error.what());
        return 1;
    }
}

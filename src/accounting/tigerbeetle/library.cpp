// dlopen/dlsym for libtb_client, cached per path, and the log bridge from the library to spdlog.
#include "accounting/tigerbeetle/library.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::accounting::tb {

namespace {

// Runs on whatever thread the library logs from (usually a client's IO thread), under the
// library's own mutex; spdlog is thread-safe.
void forward_log(abi::LogLevel level, const std::uint8_t* message, std::uint32_t size) {
    const std::size_t shown = std::min<std::size_t>(size, limits::tb_log_message_bytes_max);
    const std::string_view text(reinterpret_cast<const char*>(message), shown);
    switch (level) {
        case abi::LogLevel::err: spdlog::error("tb_client: {}", text); break;
        case abi::LogLevel::warn: spdlog::warn("tb_client: {}", text); break;
        case abi::LogLevel::info:  // Connection chatter: for debugging, not for operators.
        case abi::LogLevel::debug: spdlog::debug("tb_client: {}", text); break;
    }
}

template <typename Function>
bool resolve(void* handle, const char* name, Function& out, std::string& error) {
    out = reinterpret_cast<Function>(dlsym(handle, name));
    if (out == nullptr) error = std::string("symbol ") + name + " missing";
    return out != nullptr;
}

bool resolve_all(void* handle, Library& library, std::string& error) {
    return resolve(handle, "tb_client_init", library.init, error) &&
           resolve(handle, "tb_client_init_echo", library.init_echo, error) &&
           resolve(handle, "tb_client_submit", library.submit, error) &&
           resolve(handle, "tb_client_deinit", library.deinit, error) &&
           resolve(handle, "tb_client_init_parameters", library.init_parameters, error) &&
           resolve(handle, "tb_client_register_log_callback", library.register_log_callback, error);
}

std::unique_ptr<Library> open_library(const std::string& path, std::string& error) {
    if (!std::filesystem::exists(path)) {
        error = "file not found (run scripts/fetch_tb_client.sh or set TB_CLIENT_LIB)";
        return nullptr;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* reason = dlerror();
        error = reason ? reason : "dlopen failed";
        return nullptr;
    }
    auto library = std::make_unique<Library>();
    library->path = path;
    if (!resolve_all(handle, *library, error)) return nullptr;  // Stays mapped; harmless.
    // One callback per process; a second library copy finding one registered is fine.
    const auto status = library->register_log_callback(&forward_log, false);
    TF_ASSERT(status != abi::RegisterLogStatus::not_registered);
    (void)status;
    return library;
}

struct Cache {
    std::mutex mutex;
    std::map<std::string, std::unique_ptr<Library>> libraries;
};

Cache& cache() {
    static Cache instance;
    return instance;
}

}  // namespace

const Library* load_library(const std::string& path, std::string& error) {
    Cache& libraries = cache();
    std::lock_guard lock(libraries.mutex);
    auto found = libraries.libraries.find(path);
    if (found != libraries.libraries.end()) return found->second.get();
    std::unique_ptr<Library> library = open_library(path, error);
    if (!library) {
        error = "cannot load TigerBeetle client library " + path + ": " + error;
        return nullptr;
    }
    return libraries.libraries.emplace(path, std::move(library)).first->second.get();
}

}  // namespace tigerfans::accounting::tb

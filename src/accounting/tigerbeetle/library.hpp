// Loads the official libtb_client.so at run time (dlopen) and resolves the functions this
// server calls. A missing or wrong library is an error value with a readable reason, never a
// crash. A loaded library stays loaded for the life of the process: client IO threads and the
// process-wide log callback live inside it.
#pragma once

#include <string>

#include "accounting/tigerbeetle/abi.hpp"

namespace tigerfans::accounting::tb {

struct Library {
    std::string path;
    abi::InitFn init = nullptr;
    abi::InitFn init_echo = nullptr;
    abi::SubmitFn submit = nullptr;
    abi::DeinitFn deinit = nullptr;
    abi::InitParametersFn init_parameters = nullptr;
    abi::RegisterLogFn register_log_callback = nullptr;
};

// Loads `path` once per process and forwards the library's log lines to spdlog. Returns
// nullptr and sets `error` when the file is missing or lacks a symbol.
const Library* load_library(const std::string& path, std::string& error);

}  // namespace tigerfans::accounting::tb

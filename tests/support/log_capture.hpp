// Collects what the code under test logs through spdlog's default logger while it lives, so a
// test can check that a failure it provoked is reported.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

namespace tigerfans::testing {

class LogCapture {
public:
    LogCapture() : previous_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(lines_);
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", std::move(sink)));
    }
    ~LogCapture() { spdlog::set_default_logger(previous_); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    std::string text() const { return lines_.str(); }

private:
    std::ostringstream lines_;
    std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace tigerfans::testing

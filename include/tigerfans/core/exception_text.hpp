// What a coroutine's or a task's exception says, for the log line that reports it.
#pragma once

#include <exception>
#include <string>

namespace tigerfans {

// The exception's what(), or a fixed text for one that is no std::exception. `failure` not null.
std::string exception_text(const std::exception_ptr& failure);

}  // namespace tigerfans

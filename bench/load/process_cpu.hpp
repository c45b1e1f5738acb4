// The CPU time a process has used so far, as /proc/<pid>/stat counts it: user plus system time
// of all its threads, in clock ticks (sysconf(_SC_CLK_TCK) of them per second).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tigerfans::loadgen {

// utime + stime of one /proc/<pid>/stat line, in clock ticks; nullopt when the line lacks them.
// The command name in parentheses may hold spaces and parentheses itself, so the fields are
// counted from the last ')'.
std::optional<std::int64_t> stat_cpu_ticks(std::string_view stat);

// CPU seconds process `pid` has used; nullopt when its stat file cannot be read (gone, no /proc).
std::optional<double> process_cpu_seconds(int pid);

}  // namespace tigerfans::loadgen

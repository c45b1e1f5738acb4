// The load client's reading of a /proc/<pid>/stat line: user plus system clock ticks, found
// after the command name even when that name holds spaces and parentheses.
#include <gtest/gtest.h>

#include <string>

#include "load/process_cpu.hpp"

namespace tigerfans::loadgen {
namespace {

// Fields 1-17 of proc(5): pid, comm, state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt,
// cminflt, majflt, cmajflt, utime (250), stime (37), cutime, cstime; the rest cut short.
std::string stat_line(const std::string& name) {
    return "4242 (" + name + ") S 1 4242 4242 0 -1 4194560 1200 0 3 0 250 37 9 4 20 0 5\n";
}

TEST(ProcessCpu, AddsUserAndSystemTicks) { EXPECT_EQ(stat_cpu_ticks(stat_line("tigerfans")), 287); }

TEST(ProcessCpu, CountsFieldsFromTheLastParenthesisOfTheName) {
    EXPECT_EQ(stat_cpu_ticks(stat_line("a) 1 2 3 (b")), 287);
    EXPECT_EQ(stat_cpu_ticks(stat_line("two words")), 287);
}

TEST(ProcessCpu, RefusesALineWithoutTheTimes) {
    EXPECT_EQ(stat_cpu_ticks(""), std::nullopt);
    EXPECT_EQ(stat_cpu_ticks("4242 tigerfans S 1 4242"), std::nullopt);
    EXPECT_EQ(stat_cpu_ticks("4242 (tigerfans) S 1 4242 4242 0 -1 4194560 1200 0 3 0 250"),
              std::nullopt);
    EXPECT_EQ(stat_cpu_ticks("4242 (tigerfans) S 1 4242 4242 0 -1 4194560 1200 0 3 0 2x0 37"),
              std::nullopt);
}

}  // namespace
}  // namespace tigerfans::loadgen

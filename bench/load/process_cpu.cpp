#include "load/process_cpu.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <string>

namespace tigerfans::loadgen {

namespace {
// After the command name: state is field 0, utime field 11, stime field 12 (proc(5) numbers
// them 3, 14 and 15).
constexpr int utime_field = 11;
constexpr int stime_field = 12;

std::optional<std::int64_t> field_number(std::string_view fields, int wanted) {
    int index = 0;
    std::size_t start = fields.find_first_not_of(' ');
    while (start != std::string_view::npos) {
        const std::size_t end = std::min(fields.find(' ', start), fields.size());
        if (index == wanted) {
            std::int64_t value = 0;
            const auto [rest, error] =
                std::from_chars(fields.data() + start, fields.data() + end, value);
            if (error != std::errc() || rest != fields.data() + end) return std::nullopt;
            return value;
        }
        index++;
        start = fields.find_first_not_of(' ', end);
    }
    return std::nullopt;
}
}  // namespace

std::optional<std::int64_t> stat_cpu_ticks(std::string_view stat) {
    const std::size_t name_end = stat.rfind(')');
    if (name_end == std::string_view::npos) return std::nullopt;
    std::string_view fields = stat.substr(name_end + 1);
    if (const std::size_t line_end = fields.find('\n'); line_end != std::string_view::npos) {
        fields = fields.substr(0, line_end);
    }
    const auto user = field_number(fields, utime_field);
    const auto system = field_number(fields, stime_field);
    if (!user || !system) return std::nullopt;
    return *user + *system;
}

std::optional<double> process_cpu_seconds(int pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    const std::string stat{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    const auto ticks = stat_cpu_ticks(stat);
    const long per_second = sysconf(_SC_CLK_TCK);
    if (!ticks || per_second <= 0) return std::nullopt;
    return static_cast<double>(*ticks) / static_cast<double>(per_second);
}

}  // namespace tigerfans::loadgen

// Child processes for the test harness: real PostgreSQL, Redis and TigerBeetle servers are
// started by the tests themselves, never mocked.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace tigerfans::testing {

// Runs a command to completion; returns its exit status (or -1 when it could not start).
// Output goes to `log_path` when given, else is discarded.
int run_command(const std::vector<std::string>& argv, const std::string& log_path = {});

// A background process that is terminated (SIGTERM, then SIGKILL) when destroyed.
class ChildProcess {
public:
    ChildProcess() = default;
    ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
    ~ChildProcess();
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;

    bool running();
    void terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
    void kill();  // SIGKILL at once, and reaped.
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

// Finds an executable: the first existing path among `candidates`, else a PATH lookup.
std::string find_program(const std::string& name, const std::vector<std::string>& candidates = {});

// A fresh directory under /tmp, removed by remove_tree.
std::string make_temp_dir(const std::string& prefix);
void remove_tree(const std::string& path);

bool running_as_root();

// Polls `ready` every 20 ms until it returns true or the timeout passes.
bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

}  // namespace tigerfans::testing

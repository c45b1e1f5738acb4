// Results of store and flow calls: a value, or a Fault saying why not. Bad input and I/O
// failures are values, never exceptions; http/errors maps each Fault to one HTTP status.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "tigerfans/core/assert.hpp"

namespace tigerfans {

enum class Fault {
    unavailable,    // A backend is down or unreachable: retry later (503).
    timeout,        // A backend did not answer in time (503).
    overloaded,     // A queue or connection limit was hit (503).
    shutting_down,  // The server is draining (503).
    internal,       // A bug or an unexpected backend answer (500).
};

std::string_view fault_name(Fault fault);

template <typename T>
class [[nodiscard]] Result {
public:
    // Default-constructed results are internal faults (co_spawn needs a default on exception).
    Result() : state_(Fault::internal) {}
    Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(Fault fault) : state_(fault) {}         // NOLINT(google-explicit-constructor)

    bool ok() const { return std::holds_alternative<T>(state_); }
    explicit operator bool() const { return ok(); }

    T& value() & {
        TF_ASSERT(ok());
        return std::get<T>(state_);
    }
    const T& value() const& {
        TF_ASSERT(ok());
        return std::get<T>(state_);
    }
    T&& value() && {
        TF_ASSERT(ok());
        return std::get<T>(std::move(state_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    Fault fault() const {
        TF_ASSERT(!ok());
        return std::get<Fault>(state_);
    }

private:
    std::variant<T, Fault> state_;
};

// For calls that return nothing but may fail.
struct Done {};
using Status = Result<Done>;
inline Status done() { return Done{}; }

}  // namespace tigerfans

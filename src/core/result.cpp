// Names of faults, for logs and JSON error bodies.
#include "tigerfans/core/result.hpp"

namespace tigerfans {

std::string_view fault_name(Fault fault) {
    switch (fault) {
        case Fault::unavailable: return "unavailable";
        case Fault::timeout: return "timeout";
        case Fault::overloaded: return "overloaded";
        case Fault::shutting_down: return "shutting_down";
        case Fault::internal: return "internal";
    }
    return "unknown";
}

}  // namespace tigerfans

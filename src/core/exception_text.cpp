// What a coroutine's or a task's exception says.
#include "tigerfans/core/exception_text.hpp"

#include "tigerfans/core/assert.hpp"

namespace tigerfans {

std::string exception_text(const std::exception_ptr& failure) {
    TF_ASSERT(failure != nullptr);
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& error) {
        return error.what();
    } catch (...) {
        return "something other than a std::exception";
    }
}

}  // namespace tigerfans

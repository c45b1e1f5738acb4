// The fuzz targets' property checks: a property that does not hold aborts, which libFuzzer
// reports as a crash, saving the input that broke it.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace tigerfans::fuzz {

inline void require(bool holds, const char* property) {
    if (holds) return;
    std::fprintf(stderr, "fuzz: property broken: %s\n", property);
    std::abort();
}

}  // namespace tigerfans::fuzz

// Assertions shared by the C++ test programs that run against the real runtime (api_test,
// kv_test, parity_test, stream_test). A failed check prints "FAILED <file>:<line>: <cond>"
// and exits 1; the pytest file that runs the program reports its output.
#pragma once

#include <cstdlib>
#include <functional>
#include <iostream>

#include "yr/yr.h"

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            std::cout << "FAILED " << __FILE__ << ":" << __LINE__ << ": " #cond << std::endl; \
            std::exit(1);                                                                   \
        }                                                                                   \
    } while (0)

// Runs `fn`, which must throw a YR::Exception: prints "<what>: code=... mcode=... what=..."
// (the pytest files match these lines) and returns it; exits 1 if nothing was thrown.
inline YR::Exception ExpectError(const char *what, const std::function<void()> &fn)
{
    try {
        fn();
    } catch (const YR::Exception &e) {
        std::cout << what << ": code=" << e.Code() << " mcode=" << e.MCode() << " what=" << e.what() << std::endl;
        return e;
    }
    std::cout << "FAILED " << what << ": no YR::Exception" << std::endl;
    std::exit(1);
}

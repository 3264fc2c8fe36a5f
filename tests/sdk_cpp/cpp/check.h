// Assertions (and the scenario dispatch) shared by the C++ test programs that run against the real runtime (api_test,
// kv_test, parity_test, stream_test). A failed check prints "FAILED <file>:<line>: <cond>"
// and exits 1; the pytest file that runs the program reports its output.
#pragma once

#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <string>

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

// Runs the scenario `name` (the program's argv[1]) of `scenarios` in an initialized runtime,
// then finalizes and prints "PASS <name>" (the pytest files look for it last); returns the
// exit code: 0, or 2 for an unknown name.
inline int RunScenario(const std::string &name, const std::map<std::string, void (*)()> &scenarios)
{
    auto it = scenarios.find(name);
    if (it == scenarios.end()) {
        std::cout << "unknown scenario " << name << std::endl;
        return 2;
    }
    it->second();
    YR::Finalize();
    std::cout << "PASS " << name << std::endl;
    return 0;
}

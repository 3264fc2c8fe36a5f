// YR::InvokeOptions: resources and scheduling options of a creation or call.
//
// Only fields the runtime honours are here (see docs/cpp.md): cpu, memory,
// customResources, customExtensions["Concurrency"], recoverRetryTimes.
#pragma once

#include <string>
#include <unordered_map>

namespace YR {

struct InvokeOptions {
    // Millicores required by the instance (default 500).
    int cpu = 500;
    // MiB required by the instance (default 500).
    int memory = 500;
    // Logical custom resources, e.g. {"ssd", 1}; the runtime refuses names no node declares.
    std::unordered_map<std::string, float> customResources;
    // "Concurrency" -> "N" runs up to N calls of the instance at once (default 1, in order).
    std::unordered_map<std::string, std::string> customExtensions;
    // How many times a dead instance is restarted (from its YR_STATE when it has one).
    int recoverRetryTimes = 0;
};

}  // namespace YR

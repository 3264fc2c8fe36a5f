// YR::InvokeOptions: resources and scheduling options of a creation or call.
//
// Only fields the runtime honours are here (see docs/cpp.md): cpu, memory,
// customResources, customExtensions["Concurrency"], recoverRetryTimes, labels and affinity.
#pragma once

#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "yr/affinity.h"

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
    // This instance's labels, seen by other instances' INSTANCE affinity.
    std::vector<std::string> labels;
    // Placement rules (yr/affinity.h); AddAffinity appends.
    std::list<Affinity> scheduleAffinities;
    bool requiredPriority = false;         // the earliest REQUIRED rule a node matches wins
    bool preferredPriority = true;         // preferred rules weigh in order (else: how many hold)
    bool preferredAntiOtherLabels = false; // only nodes satisfying some preferred rule may be chosen

    InvokeOptions &AddAffinity(const std::list<Affinity> &affinities)
    {
        scheduleAffinities.insert(scheduleAffinities.end(), affinities.begin(), affinities.end());
        return *this;
    }
    InvokeOptions &AddAffinity(const Affinity &affinity)
    {
        scheduleAffinities.push_back(affinity);
        return *this;
    }
};

}  // namespace YR

// YR::Config: what YR::Init accepts.
#pragma once

#include <string>

namespace YR {

struct Config {
    enum Mode { CLUSTER_MODE = 0 };
    // Only cluster mode exists: calls always go to worker processes.
    Mode mode = CLUSTER_MODE;
    // Address of a running runtime ("host:port"). Empty: the Python SDK's discovery applies
    // (YR_SERVER_ADDRESS, the current `yr start` session, else a temporary local runtime
    // that lives as long as this process).
    std::string serverAddr;
    // Passed to the runtime as log_level when not empty ("DEBUG", "INFO", ...).
    std::string logLevel;
    // Default timeout of YR::Get when the caller gives none is 300 s (openYuanrong's).
};

}  // namespace YR

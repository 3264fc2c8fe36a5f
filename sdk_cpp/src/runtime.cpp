// libyr's process side: embedding Python, Init/Finalize, the worker entry and exit.
//
// Invariants:
// - The interpreter is started once per process and never finalised: handles and refs held by
//   user code may outlive YR::Finalize, and Python's own threads may still run at exit.
// - Outside a Python call no C++ thread holds the GIL (Init releases it), so the Python SDK's
//   background threads always make progress; every call takes it with gil_scoped_acquire.
#include <pybind11/embed.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>

#include "internal.h"
#include "yr/api.h"

#ifndef YR_PYTHON_EXECUTABLE
#error "YR_PYTHON_EXECUTABLE must name the Python interpreter libyr was built against"
#endif

namespace YR {
namespace detail {
namespace {

enum class State { NotStarted, Driver, Worker, Finalized };

std::atomic<State> g_state{State::NotStarted};
std::mutex g_initMutex;

bool PythonAlive()
{
    return Py_IsInitialized() != 0 && _Py_IsFinalizing() == 0;
}

// Starts the interpreter as the Python environment libyr was built for: program_name is that
// environment's python, so sys.executable, sys.prefix and a venv's site-packages are right
// (the SDK starts runtime processes with sys.executable). YR_PYTHON_EXECUTABLE in the
// environment overrides the built-in path.
void StartPython(int argc, char **argv)
{
    if (Py_IsInitialized()) {
        return;
    }
    const char *python = std::getenv("YR_PYTHON_EXECUTABLE");
    if (python == nullptr || *python == '\0') {
        python = YR_PYTHON_EXECUTABLE;
    }
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.parse_argv = 0;
    config.install_signal_handlers = 0;  // Ctrl-C and SIGTERM keep their C++ meaning
    PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, python);
    if (PyStatus_Exception(status)) {
        PyConfig_Clear(&config);
        throw Exception(ERR_INCORRECT_INIT_USAGE, RUNTIME, "cannot configure the embedded Python");
    }
    try {
        py::initialize_interpreter(&config, argc, argv, false);
    } catch (const std::exception &e) {
        throw Exception(ERR_INCORRECT_INIT_USAGE, RUNTIME, std::string("cannot start the embedded Python: ") + e.what());
    }
    PyEval_SaveThread();  // see the invariants above
}

void FlushPythonStdio()
{
    if (!PythonAlive()) {
        return;
    }
    py::gil_scoped_acquire gil;
    try {
        py::module_ sys = py::module_::import("sys");
        for (const char *name : {"stdout", "stderr"}) {
            py::object stream = sys.attr(name);
            if (!stream.is_none()) {
                stream.attr("flush")();
            }
        }
    } catch (py::error_already_set &) {
    }
}

void FinalizeAtExit()
{
    if (g_state == State::Driver) {
        try {
            Finalize();
        } catch (const std::exception &e) {
            std::cerr << "yr: finalize at exit failed: " << e.what() << std::endl;
        }
    }
    FlushPythonStdio();
}

py::dict ConfigDict(const Config &conf)
{
    py::dict d;
    if (!conf.serverAddr.empty()) {
        d["server_address"] = conf.serverAddr;
    }
    if (!conf.logLevel.empty()) {
        d["log_level"] = conf.logLevel;
    }
    return d;
}

// The Python thread state of a thread Python did not start, made at its first call into Python
// and ended with the thread (KeepThreadState). pybind11's gil_scoped_acquire and
// PyGILState_Ensure find it and leave it alive (its gilstate counter stays above zero).
struct KeptThreadState {
    PyThreadState *tstate = nullptr;
    PyGILState_STATE state = PyGILState_UNLOCKED;
    ~KeptThreadState()
    {
        if (tstate != nullptr && PythonAlive()) {
            PyEval_RestoreThread(tstate);
            PyGILState_Release(state);   // the last hold: clears and deletes the state, drops the GIL
        }
    }
};

thread_local KeptThreadState t_kept;

}  // namespace

void KeepThreadState()
{
    if (t_kept.tstate != nullptr || !PythonAlive() || PyGILState_GetThisThreadState() != nullptr) {
        return;   // kept already; no Python yet (nothing to keep); or a thread Python knows
    }
    t_kept.state = PyGILState_Ensure();   // a new thread state, the GIL taken with it
    t_kept.tstate = PyEval_SaveThread();  // the GIL let go, the state kept
}

void IncRef(PyObject *obj)
{
    if (obj == nullptr || !PythonAlive()) {
        return;
    }
    KeepThreadState();
    PyGILState_STATE s = PyGILState_Ensure();
    Py_INCREF(obj);
    PyGILState_Release(s);
}

void DecRef(PyObject *obj)
{
    if (obj == nullptr || !PythonAlive()) {
        return;
    }
    KeepThreadState();
    PyGILState_STATE s = PyGILState_Ensure();
    Py_DECREF(obj);
    PyGILState_Release(s);
}

void CheckInitialized()
{
    if (g_state == State::Driver || g_state == State::Worker) {
        return;
    }
    if (g_state == State::Finalized) {
        throw Exception(ERR_FINALIZED, RUNTIME, "yr is finalized; call YR::Init again first");
    }
    throw Exception(ERR_INCORRECT_INIT_USAGE, RUNTIME,
                    "the current yr init status is abnormal, please init YR first");
}

[[noreturn]] void ThrowPythonError()
{
    py::error_already_set e;
    throw ToException(e);
}

}  // namespace detail

void Init(const Config &conf, int argc, char **argv)
{
    using detail::State;
    std::unique_lock<std::mutex> lock(detail::g_initMutex);
    if (detail::g_state == State::Driver || detail::g_state == State::Worker) {
        return;  // a second Init is ignored, as in openYuanrong
    }
    detail::StartPython(argc, argv);
    // The variable and its value are defined once, in Python: yr_runtime.wire.messages
    // (BOOTSTRAP_ENV, Bootstrap); the worker loop it leads to reads them there.
    if (std::getenv("YR_WORKER_BOOTSTRAP") != nullptr) {
        detail::g_state = State::Worker;
        lock.unlock();  // user code served below may call Init or Finalize
        // Worker output goes to a pipe read by the node agent: line-buffer it so that whole
        // lines show up at once (std::cout writes through stdio). An explicit buffer, because
        // Python (PYTHONUNBUFFERED) already made stdout unbuffered with a one-byte buffer.
        // Flushed first: a template (docs/architecture.md) forks every worker from this process,
        // and output main() left buffered must not be written again by each of them.
        std::fflush(nullptr);
        static char stdoutBuffer[BUFSIZ];
        std::setvbuf(stdout, stdoutBuffer, _IOLBF, sizeof(stdoutBuffer));
        int rc = 0;
        {
            detail::py::gil_scoped_acquire gil;
            try {
                detail::ServeWorker();
            } catch (detail::py::error_already_set &e) {
                e.restore();
                PyErr_Print();
                rc = 1;
            }
        }
        detail::FlushPythonStdio();
        std::cout.flush();
        std::cerr.flush();
        std::fflush(nullptr);
        // _Exit, not exit: Python's threads are still running, and static destructors must not
        // run under them. Never returns into main.
        std::_Exit(rc);
    }
    detail::CallPython([&] { detail::Bridge().attr("init")(detail::ConfigDict(conf)); });
    static bool atexitRegistered = false;
    if (!atexitRegistered) {
        std::atexit(detail::FinalizeAtExit);
        atexitRegistered = true;
    }
    detail::g_state = State::Driver;
}

void Init(const Config &conf)
{
    static char name[] = "yr";
    static char *argv[] = {name, nullptr};
    Init(conf, 1, argv);
}

void Init(int argc, char **argv)
{
    Init(Config{}, argc, argv);
}

void Finalize()
{
    using detail::State;
    std::lock_guard<std::mutex> lock(detail::g_initMutex);
    if (detail::g_state == State::Worker) {
        throw Exception(ERR_INCORRECT_INIT_USAGE, RUNTIME, "Finalize is not allowed to use on cloud");
    }
    if (detail::g_state != State::Driver) {
        throw Exception(ERR_INCORRECT_INIT_USAGE, RUNTIME, "the current yr init status is abnormal, please init YR first");
    }
    detail::g_state = State::Finalized;
    detail::CallPython([] {
        detail::ClearCallCaches();
        detail::Bridge().attr("finalize")();
    });
}

bool IsInitialized()
{
    return detail::g_state == detail::State::Driver || detail::g_state == detail::State::Worker;
}

bool IsOnCloud()
{
    return detail::g_state == detail::State::Worker;
}

bool IsLocalMode()
{
    return false;
}

}  // namespace YR

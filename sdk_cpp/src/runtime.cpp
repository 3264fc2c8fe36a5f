// libyr's process side: embedding Python, Init/Finalize, and every yr._bridge call.
//
// Invariants:
// - The interpreter is started once per process and never finalised: handles and refs held by
//   user code may outlive YR::Finalize, and Python's own threads may still run at exit.
// - Outside a Python call no C++ thread holds the GIL (Init releases it), so the Python SDK's
//   background threads always make progress; every call here takes it with gil_scoped_acquire.
#include <pybind11/embed.h>

#include <unistd.h>

#include <climits>
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

State g_state = State::NotStarted;
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

const std::string &Executable()
{
    static const std::string path = [] {
        char buf[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
        if (n <= 0) {
            throw Exception(ERR_INNER_SYSTEM_ERROR, RUNTIME, "cannot read /proc/self/exe");
        }
        return std::string(buf, static_cast<std::size_t>(n));
    }();
    return path;
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

py::dict OptionsDict(const InvokeOptions &opts)
{
    py::dict d;
    d["cpu"] = opts.cpu;
    d["memory"] = opts.memory;
    if (!opts.customResources.empty()) {
        py::dict res;
        for (const auto &kv : opts.customResources) {
            res[py::str(kv.first)] = static_cast<double>(kv.second);
        }
        d["custom_resources"] = res;
    }
    auto it = opts.customExtensions.find("Concurrency");
    if (it != opts.customExtensions.end()) {
        int concurrency = 0;
        try {
            std::size_t used = 0;
            concurrency = std::stoi(it->second, &used);
            if (used != it->second.size()) {
                throw std::invalid_argument(it->second);
            }
        } catch (const std::exception &) {
            throw Exception(ERR_PARAM_INVALID, RUNTIME, "customExtensions[\"Concurrency\"] is not an integer: " + it->second);
        }
        d["concurrency"] = concurrency;
    }
    if (opts.recoverRetryTimes != 0) {
        d["recover_retry_times"] = opts.recoverRetryTimes;
    }
    return d;
}

void CheckTimeout(int timeoutSec)
{
    if (timeoutSec <= 0 && timeoutSec != -1) {
        throw Exception(ERR_PARAM_INVALID, RUNTIME,
                        "timeout must be greater than 0 or -1, got " + std::to_string(timeoutSec));
    }
}

}  // namespace

py::object &Bridge()
{
    static py::object *bridge = new py::object(py::module_::import("yr._bridge"));
    return *bridge;
}

Exception ToException(py::error_already_set &e)
{
    int code = ERR_INNER_SYSTEM_ERROR;
    int mcode = RUNTIME;
    std::string msg;
    try {
        py::object value = e.value();
        for (auto field : {std::make_pair("code", &code), std::make_pair("module_code", &mcode)}) {
            py::object attr = py::getattr(value, field.first, py::none());
            if (py::isinstance<py::int_>(attr)) {
                *field.second = attr.cast<int>();
            }
        }
        msg = py::str(value).cast<std::string>();
        if (msg.empty()) {
            msg = py::str(e.type().attr("__name__")).cast<std::string>();
        }
    } catch (...) {
        msg = e.what();
    }
    return Exception(code, mcode, msg);
}

void IncRef(PyObject *obj)
{
    if (obj == nullptr || !PythonAlive()) {
        return;
    }
    PyGILState_STATE s = PyGILState_Ensure();
    Py_INCREF(obj);
    PyGILState_Release(s);
}

void DecRef(PyObject *obj)
{
    if (obj == nullptr || !PythonAlive()) {
        return;
    }
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

PyObject *CreateInstance(const std::string &factory, const std::string &className, PyObject *args,
                         const InvokeOptions &opts, const std::string &name, const std::string &ns)
{
    return CallPython([&] {
        py::dict spec;
        spec["language"] = "cpp";
        spec["executable"] = Executable();
        spec["class"] = className;
        spec["factory"] = factory;
        py::dict options = OptionsDict(opts);
        if (!name.empty()) {
            options["name"] = name;
        }
        if (!ns.empty()) {
            options["namespace"] = ns;
        }
        return Bridge().attr("create_instance")(spec, py::handle(args), options).release().ptr();
    });
}

PyObject *InvokeMethod(PyObject *handle, const std::string &method, PyObject *args)
{
    return CallPython([&] {
        return Bridge().attr("invoke_method")(py::handle(handle), method, py::handle(args), py::dict()).release().ptr();
    });
}

PyObject *InvokeFunction(const std::string &function, PyObject *args, const InvokeOptions &opts)
{
    return CallPython([&] {
        py::dict spec;
        spec["language"] = "cpp";
        spec["executable"] = Executable();
        spec["function"] = function;
        return Bridge().attr("invoke_function")(spec, py::handle(args), OptionsDict(opts)).release().ptr();
    });
}

PyObject *GetValue(PyObject *refOrList, int timeoutSec)
{
    CheckTimeout(timeoutSec);
    return CallPython([&] {
        return Bridge().attr("get")(py::handle(refOrList), static_cast<double>(timeoutSec)).release().ptr();
    });
}

PyObject *WaitRefs(PyObject *refs, std::size_t waitNum, int timeoutSec)
{
    CheckTimeout(timeoutSec);
    return CallPython([&] {
        py::object result = Bridge().attr("wait")(py::handle(refs), waitNum, static_cast<double>(timeoutSec));
        return py::tuple(result).release().ptr();
    });
}

PyObject *PutValue(PyObject *value)
{
    return CallPython([&] { return Bridge().attr("put")(py::handle(value)).release().ptr(); });
}

void TerminateInstance(PyObject *handle)
{
    CheckInitialized();
    CallPython([&] { Bridge().attr("terminate")(py::handle(handle)); });
}

std::string RefId(PyObject *ref)
{
    return CallPython([&] { return Bridge().attr("ref_id")(py::handle(ref)).cast<std::string>(); });
}

std::string InstanceId(PyObject *handle)
{
    return CallPython([&] { return Bridge().attr("instance_id")(py::handle(handle)).cast<std::string>(); });
}

}  // namespace detail

void Init(const Config &conf, int argc, char **argv)
{
    using detail::State;
    std::lock_guard<std::mutex> lock(detail::g_initMutex);
    if (detail::g_state == State::Driver || detail::g_state == State::Worker) {
        return;  // a second Init is ignored, as in openYuanrong
    }
    detail::StartPython(argc, argv);
    if (std::getenv("YR_WORKER_BOOTSTRAP") != nullptr) {
        detail::g_state = State::Worker;
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
    detail::CallPython([] { detail::Bridge().attr("finalize")(); });
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

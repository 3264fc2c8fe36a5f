// The worker host: the object yr._bridge.serve_worker calls to run C++ user code.
//
// The Python worker loop owns the protocol; it hands this host a spec and a list of neutral
// argument values and gets a neutral value back. A C++ exception from user code is raised to
// Python as RuntimeError whose message carries the original what(), which reaches the caller's
// YR::Get as YR::Exception 2002.
#include <pybind11/embed.h>

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <typeinfo>

#include "internal.h"

namespace YR {
namespace detail {
namespace {

// One live instance of a registered class.
class CppInstance {
public:
    CppInstance(const FactoryEntry *factory, void *object) : factory_(factory), object_(object) {}
    CppInstance(const CppInstance &) = delete;
    CppInstance &operator=(const CppInstance &) = delete;
    ~CppInstance()
    {
        factory_->ops.destroy(object_);
    }
    const ClassOps &Ops() const
    {
        return factory_->ops;
    }
    void *Object() const
    {
        return object_;
    }

private:
    const FactoryEntry *factory_;
    void *object_;
};

[[noreturn]] void RaiseRuntimeError(const std::string &msg)
{
    PyErr_SetString(PyExc_RuntimeError, msg.c_str());
    throw py::error_already_set();
}

// A user error: a RuntimeError whose `cpp_type` attribute is the C++ exception's type name,
// so callers in other languages can report the original type (yr._xlang.remote_class).
[[noreturn]] void RaiseUserError(const std::string &msg, const char *mangled)
{
    int status = 0;
    char *demangled = mangled == nullptr ? nullptr : abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string type = demangled != nullptr ? demangled : (mangled != nullptr ? mangled : "unknown");
    std::free(demangled);
    py::object err = py::reinterpret_borrow<py::object>(PyExc_RuntimeError)(msg);
    err.attr("cpp_type") = type;
    PyErr_SetObject(PyExc_RuntimeError, err.ptr());
    throw py::error_already_set();
}

// Runs fn; a C++ exception becomes a Python RuntimeError naming `what` and keeping e.what().
template <typename Fn>
auto Guard(const std::string &what, Fn &&fn) -> decltype(fn())
{
    try {
        return fn();
    } catch (py::error_already_set &) {
        throw;
    } catch (const std::exception &e) {
        RaiseUserError("failed to invoke " + what + ", exception: " + e.what(), typeid(e).name());
    } catch (...) {
        RaiseUserError("failed to invoke " + what + ", exception: unknown (not a std::exception)",
                       abi::__cxa_current_exception_type() ? abi::__cxa_current_exception_type()->name() : nullptr);
    }
}

std::string SpecString(const py::dict &spec, const char *key)
{
    if (!spec.contains(key)) {
        RaiseRuntimeError(std::string("C++ spec has no \"") + key + "\"");
    }
    return spec[key].cast<std::string>();
}

const FactoryEntry &FactoryOf(const py::dict &spec)
{
    std::string name = SpecString(spec, "factory");
    const FactoryEntry *entry = FindFactory(name);
    if (entry == nullptr) {
        RaiseRuntimeError(name + " is not registered in this executable, check if it is decorated by YR_INVOKE");
    }
    return *entry;
}

void NoKwargs(const py::object &kwargs)
{
    if (!kwargs.is_none() && py::len(kwargs) != 0) {
        RaiseRuntimeError("C++ functions take no keyword arguments");
    }
}

PyObject *AsList(const py::object &args)
{
    return args.ptr();
}

// A method or function bound once by the worker (issue 16): the registry lookup, the class
// check and the spec's name are settled at bind time, and a call is one C function called by
// the worker loop with its argument tuple (no Python wrapper, no pybind11 dispatch, no copies
// of the arguments, the name or the kwargs).
struct BoundCall {
    std::string what;                       // the name errors give ("&Counter::Add", "Inc")
    py::object keep;                        // a method's instance (its Python object): kept alive
    const CppInstance *instance = nullptr;  // methods
    const MethodEntry *method = nullptr;    // methods
    const FunctionEntry *function = nullptr;  // functions
};

constexpr const char *kBoundCall = "yr.BoundCall";

void FreeBoundCall(PyObject *capsule)
{
    delete static_cast<BoundCall *>(PyCapsule_GetPointer(capsule, kBoundCall));
}

PyObject *CallBound(PyObject *self, PyObject *args, PyObject *kwargs)
{
    auto *b = static_cast<BoundCall *>(PyCapsule_GetPointer(self, kBoundCall));
    if (b == nullptr) {
        return nullptr;
    }
    if (kwargs != nullptr && PyDict_GET_SIZE(kwargs) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "C++ functions take no keyword arguments");
        return nullptr;
    }
    try {
        return Guard(b->what, [&] {
            return b->method != nullptr ? b->method->call(b->instance->Object(), args) : b->function->call(args);
        });
    } catch (py::error_already_set &e) {
        e.restore();
        return nullptr;
    }
}

PyMethodDef g_callBound = {"call", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(CallBound)),
                           METH_VARARGS | METH_KEYWORDS, nullptr};

// A Python callable (a builtin function whose self is a capsule owning `b`).
py::object MakeBound(std::unique_ptr<BoundCall> b)
{
    PyObject *capsule = PyCapsule_New(b.get(), kBoundCall, FreeBoundCall);
    if (capsule == nullptr) {
        throw py::error_already_set();
    }
    b.release();
    PyObject *fn = PyCFunction_NewEx(&g_callBound, capsule, nullptr);
    Py_DECREF(capsule);
    if (fn == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(fn);
}

const MethodEntry *MethodOf(const CppInstance &instance, const std::string &method)
{
    const MethodEntry *entry = FindMethod(method);
    if (entry == nullptr) {
        RaiseRuntimeError(method + " is not registered in this executable, check if it is decorated by YR_INVOKE");
    }
    if (*entry->type != *instance.Ops().type) {
        RaiseRuntimeError(method + " is not a method of " + instance.Ops().name);
    }
    return entry;
}

const FunctionEntry *FunctionOf(const std::string &name)
{
    const FunctionEntry *entry = FindFunction(name);
    if (entry == nullptr) {
        RaiseRuntimeError(name + " is not registered in this executable, check if it is decorated by YR_INVOKE");
    }
    return entry;
}

class CppHost {
public:
    std::unique_ptr<CppInstance> CreateInstance(const py::dict &spec, const py::object &args, const py::object &kwargs)
    {
        NoKwargs(kwargs);
        const FactoryEntry &factory = FactoryOf(spec);
        std::string name = SpecString(spec, "factory");
        void *object = Guard(name, [&] { return factory.create(AsList(args)); });
        if (object == nullptr) {
            RaiseRuntimeError("failed to invoke " + name + ", exception: the factory returned a null pointer");
        }
        return std::make_unique<CppInstance>(&factory, object);
    }

    py::object CallMethod(const CppInstance &instance, const std::string &method, const py::object &args,
                          const py::object &kwargs)
    {
        NoKwargs(kwargs);
        const MethodEntry *entry = MethodOf(instance, method);
        return py::reinterpret_steal<py::object>(Guard(method, [&] { return entry->call(instance.Object(), AsList(args)); }));
    }

    py::object CallFunction(const py::dict &spec, const py::object &args, const py::object &kwargs)
    {
        NoKwargs(kwargs);
        std::string name = SpecString(spec, "function");
        const FunctionEntry *entry = FunctionOf(name);
        return py::reinterpret_steal<py::object>(Guard(name, [&] { return entry->call(AsList(args)); }));
    }

    // call_method / call_function bound once: `fn(*args)` per call (the worker keeps it per
    // method or function). Raises at bind time what a call would raise for an unknown name.
    py::object BindMethod(const py::object &instanceObj, const std::string &method)
    {
        const auto &instance = instanceObj.cast<const CppInstance &>();
        auto b = std::make_unique<BoundCall>();
        b->method = MethodOf(instance, method);
        b->what = method;
        b->keep = instanceObj;
        b->instance = &instance;
        return MakeBound(std::move(b));
    }

    py::object BindFunction(const py::dict &spec)
    {
        auto b = std::make_unique<BoundCall>();
        b->what = SpecString(spec, "function");
        b->function = FunctionOf(b->what);
        return MakeBound(std::move(b));
    }

    // The YR_STATE members as a list; None for a class without YR_STATE.
    py::object SaveState(const CppInstance &instance)
    {
        if (instance.Ops().save == nullptr) {
            return py::none();
        }
        return py::reinterpret_steal<py::object>(
            Guard("save state of " + instance.Ops().name, [&] { return instance.Ops().save(instance.Object()); }));
    }

    // A new instance from saved state; without state (None), the factory runs with no arguments.
    std::unique_ptr<CppInstance> RestoreInstance(const py::dict &spec, const py::object &state)
    {
        const FactoryEntry &factory = FactoryOf(spec);
        if (state.is_none()) {
            return CreateInstance(spec, py::list(), py::none());
        }
        if (factory.ops.restore == nullptr) {
            RaiseRuntimeError(factory.ops.name + " cannot be restored: it needs YR_STATE and a default constructor");
        }
        void *object = Guard("restore " + factory.ops.name, [&] { return factory.ops.restore(state.ptr()); });
        return std::make_unique<CppInstance>(&factory, object);
    }

    // The worker ends with _exit (Python's os._exit): what user code left buffered goes now.
    void Shutdown()
    {
        std::cout.flush();
        std::cerr.flush();
        std::fflush(nullptr);
    }
};

}  // namespace
}  // namespace detail
}  // namespace YR

PYBIND11_EMBEDDED_MODULE(_yr_cpp_host, m)
{
    using namespace YR::detail;
    py::class_<CppInstance>(m, "CppInstance").def("__repr__", [](const CppInstance &i) {
        return "<C++ instance of " + i.Ops().name + ">";
    });
    py::class_<CppHost>(m, "CppHost")
        .def(py::init<>())
        .def("create_instance", &CppHost::CreateInstance, py::arg("spec"), py::arg("args"), py::arg("kwargs"))
        .def("call_method", &CppHost::CallMethod, py::arg("instance"), py::arg("method"), py::arg("args"),
             py::arg("kwargs"))
        .def("call_function", &CppHost::CallFunction, py::arg("spec"), py::arg("args"), py::arg("kwargs"))
        .def("bind_method", &CppHost::BindMethod, py::arg("instance"), py::arg("method"))
        .def("bind_function", &CppHost::BindFunction, py::arg("spec"))
        .def("save_state", &CppHost::SaveState, py::arg("instance"))
        .def("restore_instance", &CppHost::RestoreInstance, py::arg("spec"), py::arg("state"))
        .def("shutdown", &CppHost::Shutdown);
}

namespace YR {
namespace detail {

void ServeWorker()
{
    py::object host = py::module_::import("_yr_cpp_host").attr("CppHost")();
    Bridge().attr("serve_worker")(host);
}

}  // namespace detail
}  // namespace YR

// libyr's bridge calls: each SDK operation as one yr._bridge call, with C++ options turned
// into the bridge's dicts and Python exceptions into YR::Exception.
#include <unistd.h>

#include <climits>
#include <string>
#include <unordered_map>

#include "internal.h"

namespace YR {
namespace detail {
namespace {


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

// Labels and affinity as the bridge takes them (yr._bridge._affinity); only when set.
void AddPlacement(const InvokeOptions &opts, py::dict &d)
{
    if (opts.labels.empty() && opts.scheduleAffinities.empty()) {
        return;
    }
    py::list labels;
    for (const auto &l : opts.labels) {
        labels.append(py::str(l));
    }
    d["labels"] = labels;
    py::list rules;
    for (const auto &a : opts.scheduleAffinities) {
        py::list ops;
        for (const auto &o : a.GetLabelOperators()) {
            py::list values;
            for (const auto &v : o.GetValues()) {
                values.append(py::str(v));
            }
            py::dict op;
            op["type"] = o.GetOperatorType();
            op["key"] = o.GetKey();
            op["values"] = values;
            ops.append(op);
        }
        py::dict rule;
        rule["kind"] = a.GetAffinityKind();
        rule["type"] = a.GetAffinityType();
        rule["operators"] = ops;
        rule["scope"] = a.GetAffinityScope();
        rules.append(rule);
    }
    d["schedule_affinities"] = rules;
    d["required_priority"] = opts.requiredPriority;
    d["preferred_priority"] = opts.preferredPriority;
    d["preferred_anti_other_labels"] = opts.preferredAntiOtherLabels;
}

}  // namespace

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
    AddPlacement(opts, d);
    return d;
}

namespace {

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
        // A remote user error reads as yr._xlang.error_text gives it: from C++ code the host's
        // "failed to invoke X, exception: <what()>" (better than the Python worker's traceback
        // around it); from Python or Java code the original type name, message and traceback.
        static py::object *errorText = new py::object(py::module_::import("yr._xlang").attr("error_text"));
        msg = (*errorText)(value).cast<std::string>();
        if (msg.empty()) {
            msg = py::str(e.type().attr("__name__")).cast<std::string>();
        }
    } catch (...) {
        msg = e.what();
    }
    return Exception(code, mcode, msg);
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
        return CreateFromSpec(spec, args, opts, name, ns);
    });
}

PyObject *CreateFromSpec(const py::dict &spec, PyObject *args, const InvokeOptions &opts, const std::string &name,
                         const std::string &ns)
{
    py::dict options = OptionsDict(opts);
    if (!name.empty()) {
        options["name"] = name;
    }
    if (!ns.empty()) {
        options["namespace"] = ns;
    }
    return Bridge().attr("create_instance")(spec, py::handle(args), options).release().ptr();
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

// ---- the hot path (GIL held) -------------------------------------------------------------
namespace {

// The bridge's functions, looked up once (module attributes do not change).
py::object &BridgeFn(const char *name, py::object *&slot)
{
    if (slot == nullptr) {
        slot = new py::object(Bridge().attr(name));
    }
    return *slot;
}

// Stateless targets by function and options: yr._bridge.function_submitter's callables.
// Cleared by Finalize (they belong to the runtime of one Init).
std::unordered_map<std::string, py::object> *g_submitters = nullptr;

// What of `opts` OptionsDict reads, as a key; false when it has parts not worth keying
// (labels, affinities): such calls take the uncached path.
bool OptionsKey(const InvokeOptions &opts, std::string &key)
{
    if (!opts.labels.empty() || !opts.scheduleAffinities.empty()) {
        return false;
    }
    key += '\0';
    key += std::to_string(opts.cpu);
    key += ',';
    key += std::to_string(opts.memory);
    key += ',';
    key += std::to_string(opts.recoverRetryTimes);
    for (const auto &kv : opts.customResources) {
        key += ',';
        key += kv.first;
        key += '=';
        key += std::to_string(kv.second);
    }
    auto it = opts.customExtensions.find("Concurrency");
    if (it != opts.customExtensions.end()) {
        key += ",c=";
        key += it->second;
    }
    return true;
}

py::dict FunctionSpec(const std::string &function)
{
    py::dict spec;
    spec["language"] = "cpp";
    spec["executable"] = Executable();
    spec["function"] = function;
    return spec;
}

}  // namespace

void ClearCallCaches()
{
    if (g_submitters != nullptr) {
        g_submitters->clear();
    }
}

PyObject *InternedName(const std::string &name)
{
    static auto *names = new std::unordered_map<std::string, PyObject *>();
    auto it = names->find(name);
    if (it != names->end()) {
        return it->second;
    }
    PyObject *str = PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
    if (str == nullptr) {
        throw py::error_already_set();
    }
    PyUnicode_InternInPlace(&str);
    names->emplace(name, str);
    return str;
}

namespace {

// What a method call needs of the Python SDK, found once: the handle type whose target
// takes calls directly, and the call kind.
struct MethodCallKit {
    PyObject *proxyType = nullptr;   // yr._decorators.InstanceProxy
    PyObject *callKind = nullptr;    // yr._protocol.CALL
    PyObject *target = nullptr;      // "_target"
    PyObject *submit = nullptr;      // "submit"
};

const MethodCallKit &Kit()
{
    static const MethodCallKit *kit = [] {
        auto *k = new MethodCallKit();
        k->proxyType = py::object(py::module_::import("yr._decorators").attr("InstanceProxy")).release().ptr();
        k->callKind = py::object(py::module_::import("yr._protocol").attr("CALL")).release().ptr();
        k->target = InternedName("_target");
        k->submit = InternedName("submit");
        return k;
    }();
    return *kit;
}

}  // namespace

PyObject *InvokeMethodHeld(PyObject *handle, PyObject *method, PyObject *args)
{
    const MethodCallKit &kit = Kit();
    if (reinterpret_cast<PyObject *>(Py_TYPE(handle)) == kit.proxyType && PyList_CheckExact(args)) {
        // What yr._bridge.invoke_method does, without its Python frame (the handle's type and
        // the argument list are known here): handle._target.submit(CALL, method, tuple(args), {}).
        PyObject *target = PyObject_GetAttr(handle, kit.target);
        if (target == nullptr) {
            return nullptr;
        }
        PyObject *tuple = PyList_AsTuple(args);
        PyObject *kwargs = tuple != nullptr ? PyDict_New() : nullptr;
        PyObject *ref = nullptr;
        if (kwargs != nullptr) {
            PyObject *callArgs[] = {target, kit.callKind, method, tuple, kwargs};
            ref = PyObject_VectorcallMethod(kit.submit, callArgs, 5, nullptr);
        }
        Py_XDECREF(kwargs);
        Py_XDECREF(tuple);
        Py_DECREF(target);
        return ref;
    }
    static py::object *fn = nullptr;
    PyObject *callArgs[] = {handle, method, args};
    return PyObject_Vectorcall(BridgeFn("invoke_method", fn).ptr(), callArgs, 3, nullptr);
}

PyObject *InvokeFunctionHeld(const std::string &function, PyObject *args, const InvokeOptions &opts)
{
    std::string key = function;
    if (!OptionsKey(opts, key)) {
        static py::object *fn = nullptr;
        try {
            return BridgeFn("invoke_function", fn)(FunctionSpec(function), py::handle(args), OptionsDict(opts))
                .release()
                .ptr();
        } catch (py::error_already_set &e) {
            e.restore();
            return nullptr;
        }
    }
    if (g_submitters == nullptr) {
        g_submitters = new std::unordered_map<std::string, py::object>();
    }
    auto it = g_submitters->find(key);
    if (it == g_submitters->end()) {
        static py::object *fn = nullptr;
        try {
            py::object submit = BridgeFn("function_submitter", fn)(FunctionSpec(function), OptionsDict(opts));
            it = g_submitters->emplace(std::move(key), std::move(submit)).first;
        } catch (py::error_already_set &e) {
            e.restore();
            return nullptr;
        }
    }
    return PyObject_CallOneArg(it->second.ptr(), args);
}

PyObject *GetValueHeld(PyObject *ref, int timeoutSec)
{
    CheckTimeout(timeoutSec);
    static py::object *fn = nullptr;
    py::float_ timeout(static_cast<double>(timeoutSec));
    PyObject *callArgs[] = {ref, timeout.ptr()};
    return PyObject_Vectorcall(BridgeFn("get_one", fn).ptr(), callArgs, 2, nullptr);
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

void CancelRefs(PyObject *refs, bool isForce, bool isRecursive)
{
    CheckInitialized();
    CallPython([&] { Bridge().attr("cancel")(py::handle(refs), isForce, isRecursive); });
}

PyObject *GetNamedInstance(const std::string &name, const std::string &ns, int timeoutSec)
{
    CheckInitialized();
    return CallPython([&] {
        return Bridge().attr("get_instance")(name, ns, static_cast<double>(timeoutSec)).release().ptr();
    });
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
}  // namespace YR

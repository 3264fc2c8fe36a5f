// The non-template half of the SDK: functions implemented in libyr (sdk_cpp/src/).
//
// Python objects cross this boundary as PyObject* so that no pybind11 type (hidden
// visibility) appears in an exported signature. Functions returning PyObject* return a new
// reference. Unless noted, each function takes the GIL itself and turns any Python
// exception into YR::Exception.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <typeinfo>

#include "yr/invoke_options.h"

struct _object;
typedef struct _object PyObject;

namespace YR {
namespace detail {

// --- references (safe after the interpreter is gone: they then do nothing) ---
void IncRef(PyObject *obj);
void DecRef(PyObject *obj);

// Gives the calling thread a Python thread state kept until the thread ends, if it has none
// (a thread of the user's, not Python's). Called before taking the GIL: without it every GIL
// section of such a thread made and destroyed a thread state (and mapped and unmapped its
// frame stack), and Python thread-local data did not last from one call to the next.
void KeepThreadState();

// Throws YR::Exception(ERR_INCORRECT_INIT_USAGE) unless YR::Init ran (or this is a worker).
void CheckInitialized();

// Turns the Python exception currently set (GIL held) into a YR::Exception and throws it.
[[noreturn]] void ThrowPythonError();

// --- yr._bridge calls; `args` is a Python list of converted arguments ---
PyObject *CreateInstance(const std::string &factory, const std::string &className, PyObject *args,
                         const InvokeOptions &opts, const std::string &name, const std::string &ns);
PyObject *InvokeMethod(PyObject *handle, const std::string &method, PyObject *args);
PyObject *InvokeFunction(const std::string &function, PyObject *args, const InvokeOptions &opts);
PyObject *GetValue(PyObject *refOrList, int timeoutSec);
// Returns a (ready, unready) tuple of lists of refs.
PyObject *WaitRefs(PyObject *refs, std::size_t waitNum, int timeoutSec);
PyObject *PutValue(PyObject *value);
void TerminateInstance(PyObject *handle);
void CancelRefs(PyObject *refs, bool isForce, bool isRecursive);
PyObject *GetNamedInstance(const std::string &name, const std::string &ns, int timeoutSec);
std::string RefId(PyObject *ref);
std::string InstanceId(PyObject *handle);

// --- the per-call hot path, entered with the GIL held so that an invoke or a get is one GIL
// section (conversions included). They return a new reference, or null with the Python
// error set (the caller throws it with ThrowPythonError); bad C++ input throws YR::Exception.
// `method` is a name from InternedName.
PyObject *InvokeMethodHeld(PyObject *handle, PyObject *method, PyObject *args);
// Stateless calls: the target (spec, pool) is resolved once per function and options.
PyObject *InvokeFunctionHeld(const std::string &function, PyObject *args, const InvokeOptions &opts);
// The value of one ref (yr._bridge.get_one).
PyObject *GetValueHeld(PyObject *ref, int timeoutSec);
// The name as an interned Python str, made once per name and kept for the process (GIL held).
PyObject *InternedName(const std::string &name);

// --- the YR_INVOKE registry (filled during static initialisation, read by the worker) ---

// How a worker handles objects of one registered class.
struct ClassOps {
    std::string name;                        // "Counter"
    const std::type_info *type = nullptr;    // typeid(Counter)
    void (*destroy)(void *) = nullptr;       // delete static_cast<Counter*>(p)
    PyObject *(*save)(void *) = nullptr;     // YR_STATE members as a list; null: no YR_STATE
    void *(*restore)(PyObject *) = nullptr;  // new object from a saved list; null: unsupported
};

// All callables are entered with the GIL held, release it around user code, and return a new
// reference. A user exception propagates as a C++ exception.
struct FactoryEntry {
    ClassOps ops;
    std::function<void *(PyObject *args)> create;
};
struct MethodEntry {
    const std::type_info *type = nullptr;
    std::function<PyObject *(void *self, PyObject *args)> call;
};
struct FunctionEntry {
    std::function<PyObject *(PyObject *args)> call;
};

// `key` identifies a function or member pointer by its bytes and type (see registry.h).
void RegisterFactory(const std::string &name, const std::string &key, FactoryEntry entry);
void RegisterMethod(const std::string &name, const std::string &key, MethodEntry entry);
void RegisterFunction(const std::string &name, const std::string &key, FunctionEntry entry);
// "Counter" for "Counter::FactoryCreate" (the factory's scope names the class).
std::string ClassNameOf(const std::string &factoryName);
// The registered name of a pointer; throws YR::Exception(ERR_PARAM_INVALID) if unregistered.
const std::string &RegisteredName(const std::string &key);

}  // namespace detail
}  // namespace YR

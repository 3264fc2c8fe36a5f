// libyr-private declarations shared by runtime.cpp, registry.cpp and worker.cpp.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include "yr/detail/runtime.h"
#include "yr/detail/string_caster.h"
#include "yr/exception.h"

namespace YR {
namespace detail {

namespace py = pybind11;

// The imported yr._bridge module (GIL held). Never released: it lives as long as the process.
py::object &Bridge();

// A Python exception as a YR::Exception: `code` and `module_code` attributes when present,
// the message from str(exception).
Exception ToException(py::error_already_set &e);

// The bridge's options dict for InvokeOptions (GIL held).
py::dict OptionsDict(const InvokeOptions &opts);

// Creates an instance from a bridge spec (GIL held): the options of `opts`, with the
// instance's name and namespace when given. Returns the new handle (a new reference).
PyObject *CreateFromSpec(const py::dict &spec, PyObject *args, const InvokeOptions &opts, const std::string &name,
                         const std::string &ns);

// Runs fn with the GIL held; Python exceptions become YR::Exception.
template <typename Fn>
auto CallPython(Fn &&fn) -> decltype(fn())
{
    KeepThreadState();
    py::gil_scoped_acquire gil;
    try {
        return fn();
    } catch (py::error_already_set &e) {
        throw ToException(e);
    }
}

// Registry lookups for the worker host; null when the name is not registered.
const FactoryEntry *FindFactory(const std::string &name);
const MethodEntry *FindMethod(const std::string &name);
const FunctionEntry *FindFunction(const std::string &name);

// Forgets the stateless targets InvokeFunctionHeld resolved (GIL held; at Finalize).
void ClearCallCaches();

// Serves calls as a worker (GIL held by the caller); returns when the runtime says to exit.
void ServeWorker();

}  // namespace detail
}  // namespace YR

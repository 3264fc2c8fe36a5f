// pybind11 for the SDK's templates, and PyRef: a GIL-safe owning pointer to a Python object.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <utility>

#include "yr/detail/runtime.h"
#include "yr/detail/string_caster.h"
#include "yr/exception.h"

namespace YR {
namespace detail {

namespace py = pybind11;

// Owns one reference. Copying and destruction take the GIL, so handles and refs can live in
// user code that never thinks about Python (including after YR::Finalize and at exit).
class PyRef {
public:
    PyRef() = default;
    // Takes over a new reference.
    static PyRef Steal(PyObject *obj)
    {
        PyRef r;
        r.obj_ = obj;
        return r;
    }
    static PyRef Borrow(PyObject *obj)
    {
        IncRef(obj);
        return Steal(obj);
    }
    PyRef(const PyRef &other) : obj_(other.obj_)
    {
        IncRef(obj_);
    }
    PyRef(PyRef &&other) noexcept : obj_(std::exchange(other.obj_, nullptr)) {}
    PyRef &operator=(PyRef other) noexcept
    {
        std::swap(obj_, other.obj_);
        return *this;
    }
    ~PyRef()
    {
        DecRef(obj_);
    }
    PyObject *get() const
    {
        return obj_;
    }
    explicit operator bool() const
    {
        return obj_ != nullptr;
    }

private:
    PyObject *obj_ = nullptr;
};

// Runs `fn` with the GIL held, turning Python and conversion errors into YR::Exception.
template <typename Fn>
auto WithGil(Fn &&fn) -> decltype(fn())
{
    KeepThreadState();
    py::gil_scoped_acquire gil;
    try {
        return fn();
    } catch (py::error_already_set &e) {
        e.restore();
        ThrowPythonError();
    } catch (const py::cast_error &e) {
        throw Exception(ERR_PARAM_INVALID, RUNTIME, std::string("value conversion failed: ") + e.what());
    }
}

}  // namespace detail
}  // namespace YR

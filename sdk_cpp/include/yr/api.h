// Process-wide calls: Init/Finalize, Get, Wait, Put.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "yr/config.h"
#include "yr/detail/convert.h"
#include "yr/object_ref.h"

namespace YR {

constexpr int DEFAULT_GET_TIMEOUT_SEC = 300;

// Connects to the runtime (see Config). In a worker process started by the runtime it serves
// calls from the YR_INVOKE registry instead and never returns. A second call is ignored.
void Init(const Config &conf);
void Init(const Config &conf, int argc, char **argv);
void Init(int argc, char **argv);
// Terminates the instances this driver created and disconnects. Throws if not initialised or
// when called inside a worker.
void Finalize();
bool IsInitialized();
// True inside a worker process.
bool IsOnCloud();
bool IsLocalMode();

template <typename T>
using WaitResult = std::pair<std::vector<ObjectRef<T>>, std::vector<ObjectRef<T>>>;

namespace detail {

template <typename T>
std::shared_ptr<T> ToShared(PyObject *value)
{
    if constexpr (std::is_void<T>::value) {
        (void)value;
        return nullptr;
    } else {
        return std::make_shared<T>(py::reinterpret_borrow<py::object>(value).cast<T>());
    }
}

template <typename T>
PyRef RefList(const std::vector<ObjectRef<T>> &refs)
{
    return WithGil([&] {
        py::list out;
        for (const auto &r : refs) {
            out.append(py::handle(r.Raw().get()));
        }
        return PyRef::Steal(out.release().ptr());
    });
}

template <typename T>
std::vector<ObjectRef<T>> FromRefList(py::handle list)
{
    std::vector<ObjectRef<T>> out;
    for (py::handle item : list) {
        out.emplace_back(PyRef::Borrow(item.ptr()));
    }
    return out;
}

}  // namespace detail

// Waits until at least waitNum refs are ready (a failed call counts as ready) or the timeout
// passes. Returns (ready, pending), together holding every ref once.
template <typename T>
WaitResult<T> Wait(const std::vector<ObjectRef<T>> &refs, std::size_t waitNum, int timeoutSec = -1)
{
    detail::CheckInitialized();
    detail::PyRef list = detail::RefList(refs);
    detail::PyRef pair = detail::PyRef::Steal(detail::WaitRefs(list.get(), waitNum, timeoutSec));
    return detail::WithGil([&] {
        detail::py::handle p(pair.get());
        return WaitResult<T>(detail::FromRefList<T>(p[detail::py::int_(0)]), detail::FromRefList<T>(p[detail::py::int_(1)]));
    });
}

// Waits for one ref; throws YR::Exception(4005) if it is not ready within the timeout.
template <typename T>
void Wait(const ObjectRef<T> &ref, int timeoutSec = -1)
{
    auto result = Wait(std::vector<ObjectRef<T>>{ref}, 1, timeoutSec);
    if (result.first.empty()) {
        throw Exception(ERR_GET_OPERATION_FAILED, RUNTIME,
                        "Wait timeout " + std::to_string(timeoutSec) + "s for object " + ref.ID());
    }
}

// Blocks until the value is there (timeoutSec > 0, or -1 for ever). Throws YR::Exception:
// 4005 on timeout, 2002 with the remote what() when the call threw, 1007 when the instance died.
template <typename T>
std::shared_ptr<T> Get(const ObjectRef<T> &ref, int timeoutSec = DEFAULT_GET_TIMEOUT_SEC)
{
    detail::CheckInitialized();
    return detail::WithGil([&] {   // one GIL section: the wait (Python lets go of the GIL) and the conversion
        PyObject *value = detail::GetValueHeld(ref.Raw().get(), timeoutSec);
        if (value == nullptr) {
            detail::ThrowPythonError();
        }
        auto owned = detail::py::reinterpret_steal<detail::py::object>(value);
        return detail::ToShared<T>(value);
    });
}

// Get of a ref nobody keeps (`YR::Get(h.Function(&C::M).Invoke(x))`, or a std::move): the ref is released in
// the same GIL section as the wait and the conversion, not in one of its own afterwards.
template <typename T>
std::shared_ptr<T> Get(ObjectRef<T> &&ref, int timeoutSec = DEFAULT_GET_TIMEOUT_SEC)
{
    detail::CheckInitialized();
    return detail::WithGil([&] {
        ObjectRef<T> owned = std::move(ref);   // released below, while the GIL is held
        PyObject *value = detail::GetValueHeld(owned.Raw().get(), timeoutSec);
        if (value == nullptr) {
            detail::ThrowPythonError();
        }
        auto keep = detail::py::reinterpret_steal<detail::py::object>(value);
        return detail::ToShared<T>(value);
    });
}

// All values, in order. With allowPartial, refs that failed or are not ready within the timeout
// give null pointers instead of an exception.
template <typename T>
std::vector<std::shared_ptr<T>> Get(const std::vector<ObjectRef<T>> &refs, int timeoutSec = DEFAULT_GET_TIMEOUT_SEC,
                                    bool allowPartial = false)
{
    detail::CheckInitialized();
    std::vector<std::shared_ptr<T>> out;
    if (!allowPartial) {
        detail::PyRef list = detail::RefList(refs);
        detail::PyRef values = detail::PyRef::Steal(detail::GetValue(list.get(), timeoutSec));
        detail::WithGil([&] {
            for (detail::py::handle v : detail::py::handle(values.get())) {
                out.push_back(detail::ToShared<T>(v.ptr()));
            }
        });
        return out;
    }
    Wait(refs, refs.size(), timeoutSec);
    for (const auto &r : refs) {
        try {
            out.push_back(Get(r, 1));
        } catch (const Exception &) {
            out.push_back(nullptr);
        }
    }
    return out;
}

// Stores a value in the runtime; the ref can be passed to calls and read with Get.
template <typename T>
ObjectRef<T> Put(const T &value)
{
    static_assert(!std::is_pointer<T>::value, "YR::Put: raw pointers cannot be stored");
    detail::CheckInitialized();
    detail::PyRef pyValue = detail::WithGil([&] { return detail::PyRef::Steal(detail::py::cast(value).release().ptr()); });
    return ObjectRef<T>(detail::PyRef::Steal(detail::PutValue(pyValue.get())));
}

// Cancels stateless calls (yr.cancel; docs/api.md): a call not sent yet never runs, a running one
// is stopped with its executor, and Get then throws. Refs of instance calls and finished calls are
// left alone. An empty vector throws YR::Exception(1001).
template <typename T>
void Cancel(const std::vector<ObjectRef<T>> &refs, bool isForce = true, bool isRecursive = false)
{
    detail::CheckInitialized();
    detail::PyRef list = detail::RefList(refs);
    detail::CancelRefs(list.get(), isForce, isRecursive);
}

template <typename T>
void Cancel(const ObjectRef<T> &ref, bool isForce = true, bool isRecursive = false)
{
    Cancel(std::vector<ObjectRef<T>>{ref}, isForce, isRecursive);
}

}  // namespace YR

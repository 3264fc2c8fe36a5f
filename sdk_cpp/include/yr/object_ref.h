// YR::ObjectRef<T>: the future result of a call, or an object put with YR::Put.
#pragma once

#include <string>
#include <utility>

#include "yr/detail/python.h"

namespace YR {

template <typename T>
class ObjectRef {
public:
    ObjectRef() = default;
    explicit ObjectRef(detail::PyRef ref) : ref_(std::move(ref)) {}

    // The runtime's id of the object.
    std::string ID() const
    {
        return detail::RefId(ref_.get());
    }
    bool IsLocal() const
    {
        return false;
    }
    // The Python object (internal).
    const detail::PyRef &Raw() const
    {
        return ref_;
    }

private:
    detail::PyRef ref_;
};

}  // namespace YR

namespace pybind11 {
namespace detail {

// An ObjectRef crosses as the Python ref itself; the runtime resolves top-level refs.
template <typename T>
class type_caster<::YR::ObjectRef<T>> {
public:
    PYBIND11_TYPE_CASTER(::YR::ObjectRef<T>, const_name("ObjectRef"));

    bool load(handle src, bool)
    {
        if (src.is_none()) {
            return false;
        }
        value = ::YR::ObjectRef<T>(::YR::detail::PyRef::Borrow(src.ptr()));
        return true;
    }
    static handle cast(const ::YR::ObjectRef<T> &src, return_value_policy, handle)
    {
        return handle(src.Raw().get()).inc_ref();
    }
};

}  // namespace detail
}  // namespace pybind11

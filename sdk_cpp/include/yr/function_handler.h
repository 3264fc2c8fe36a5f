// Stateless calls: YR::Function(f).Options(opts).Invoke(args...) -> ObjectRef<R>.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "yr/detail/convert.h"
#include "yr/detail/registry.h"
#include "yr/invoke_options.h"
#include "yr/object_ref.h"

namespace YR {
namespace detail {

template <typename F>
class FunctionHandler {
    using Traits = FnTraits<F>;
    static_assert(!Traits::IsMember, "YR: Function() takes a free function; use handle.Function for methods");

public:
    using Ret = typename Traits::Ret;

    explicit FunctionHandler(F fn) : fn_(fn) {}

    FunctionHandler &Options(const InvokeOptions &opts)
    {
        opts_ = opts;
        return *this;
    }

    template <typename... Args>
    ObjectRef<Ret> Invoke(Args &&...args)
    {
        CheckInitialized();
        return ObjectRef<Ret>(WithGil([&] {
            py::list pyArgs = ArgsList<typename Traits::ArgTuple>(std::forward<Args>(args)...);
            PyObject *ref = InvokeFunctionHeld(Name(), pyArgs.ptr(), opts_);
            if (ref == nullptr) {
                ThrowPythonError();
            }
            return PyRef::Steal(ref);
        }));
    }

private:
    // The registered name; the last one is remembered per function type (under the GIL).
    const std::string &Name() const
    {
        static F lastFn{};
        static const std::string *lastName = nullptr;
        if (lastName == nullptr || lastFn != fn_) {
            lastName = &RegisteredName(PointerKey(fn_));
            lastFn = fn_;
        }
        return *lastName;
    }

    F fn_;
    InvokeOptions opts_;
};

}  // namespace detail

template <typename F>
detail::FunctionHandler<std::decay_t<F>> Function(F fn)
{
    return detail::FunctionHandler<std::decay_t<F>>(fn);
}

}  // namespace YR

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
        const std::string &name = RegisteredName(PointerKey(fn_));
        PyRef pyArgs = ConvertArgs<typename Traits::ArgTuple>(std::forward<Args>(args)...);
        return ObjectRef<Ret>(PyRef::Steal(InvokeFunction(name, pyArgs.get(), opts_)));
    }

private:
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

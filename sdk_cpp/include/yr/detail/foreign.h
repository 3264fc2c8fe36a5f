// Methods of instances of any language called by name (handle.PyFunction<R>("m"),
// handle.JavaFunction<R>("m"), handle.CppFunction<R>("&Counter::Add")), and libyr's
// cross-language calls. See yr/cross_language.h and docs/cross-language.md.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "yr/detail/convert.h"
#include "yr/invoke_options.h"
#include "yr/object_ref.h"

namespace YR {
namespace detail {

// libyr (src/xlang.cpp): yr._bridge calls with a {"language": ..} spec; new references.
// `owner` is the Python module or Java class; `member` the function, class or "<init>".
PyObject *InvokeForeign(const std::string &language, const std::string &owner, const std::string &member,
                        PyObject *args, const InvokeOptions &opts);
PyObject *CreateForeign(const std::string &language, const std::string &owner, const std::string &member,
                        PyObject *args, const InvokeOptions &opts, const std::string &name, const std::string &ns);

// The type an argument crosses as when there is no declared parameter type: its own, except
// that string literals and char pointers cross as std::string.
template <typename A>
using ForeignParam = std::conditional_t<std::is_convertible<std::decay_t<A>, const char *>::value, std::string,
                                        std::decay_t<A>>;

template <typename R>
class ForeignMethodHandler {
public:
    ForeignMethodHandler(PyRef handle, std::string method) : handle_(std::move(handle)), method_(std::move(method)) {}

    // Kept for openYuanrong compatibility; method calls take no per-call options in yr.
    ForeignMethodHandler &Options(const InvokeOptions &opts)
    {
        opts_ = opts;
        return *this;
    }

    template <typename... Args>
    ObjectRef<R> Invoke(Args &&...args)
    {
        CheckInitialized();
        PyRef pyArgs = ConvertArgs<std::tuple<ForeignParam<Args>...>>(std::forward<Args>(args)...);
        return ObjectRef<R>(PyRef::Steal(InvokeMethod(handle_.get(), method_, pyArgs.get())));
    }

private:
    PyRef handle_;
    std::string method_;
    InvokeOptions opts_;
};

}  // namespace detail
}  // namespace YR

// YR_INVOKE's static registrar: each entry goes into libyr's registry under its stringified
// name ("Counter::FactoryCreate", "&Counter::Add", "Get"), with a type-erased invoker the
// worker calls, and its pointer is keyed so that the driver maps &Counter::Add back to
// "&Counter::Add".
#pragma once

#include <cstring>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "yr/detail/convert.h"
#include "yr/detail/traits.h"

namespace YR {
namespace detail {

// A function or member pointer as a string: its type and its bytes. Member pointers cannot be
// compared across types or turned into void*, but their bytes are stable in one program.
template <typename F>
std::string PointerKey(F fn)
{
    std::string key = typeid(F).name();
    key.push_back('@');
    key.append(reinterpret_cast<const char *>(&fn), sizeof(F));
    return key;
}

std::vector<std::string> SplitInvokeNames(const char *names);

template <typename T>
ClassOps MakeClassOps(const std::string &className)
{
    ClassOps ops;
    ops.name = className;
    ops.type = &typeid(T);
    ops.destroy = [](void *p) { delete static_cast<T *>(p); };
    if constexpr (HasYrState<T>::value) {
        ops.save = [](void *p) -> PyObject * { return py::cast(*static_cast<const T *>(p)).release().ptr(); };
        if constexpr (std::is_default_constructible<T>::value && std::is_move_constructible<T>::value) {
            ops.restore = [](PyObject *state) -> void * {
                return new T(py::reinterpret_borrow<py::object>(state).cast<T>());
            };
        }
    }
    return ops;
}

template <typename T, typename... A>
void RegisterOne(const std::string &name, T *(*factory)(A...))
{
    static_assert(std::is_class<T>::value, "YR_INVOKE: a factory must return a pointer to a class");
    FactoryEntry entry;
    entry.ops = MakeClassOps<T>(ClassNameOf(name));
    entry.create = [factory](PyObject *args) -> void * {
        auto values = LoadArgs<A...>(args);
        py::gil_scoped_release release;
        return static_cast<void *>(std::apply(factory, values));
    };
    RegisterFactory(name, PointerKey(factory), std::move(entry));
}

template <typename R, typename... A>
std::enable_if_t<!std::is_pointer<R>::value> RegisterOne(const std::string &name, R (*fn)(A...))
{
    FunctionEntry entry;
    entry.call = [fn](PyObject *args) -> PyObject * {
        auto values = LoadArgs<A...>(args);
        return RunUser<R>([&]() -> R { return std::apply(fn, values); });
    };
    RegisterFunction(name, PointerKey(fn), std::move(entry));
}

template <typename... A>
std::tuple<std::decay_t<A>...> ApplyLoad(std::tuple<A...> *, PyObject *args)
{
    return LoadArgs<A...>(args);
}

template <typename M>
void RegisterMember(const std::string &name, M method)
{
    using Traits = FnTraits<M>;
    using C = typename Traits::Class;
    using R = typename Traits::Ret;
    MethodEntry entry;
    entry.type = &typeid(C);
    entry.call = [method](void *self, PyObject *args) -> PyObject * {
        auto values = ApplyLoad(static_cast<typename Traits::ArgTuple *>(nullptr), args);
        C *obj = static_cast<C *>(self);
        return RunUser<R>([&]() -> R {
            return std::apply([&](auto &...a) -> R { return (obj->*method)(a...); }, values);
        });
    };
    RegisterMethod(name, PointerKey(method), std::move(entry));
}

template <typename R, typename C, typename... A>
void RegisterOne(const std::string &name, R (C::*method)(A...))
{
    RegisterMember(name, method);
}
template <typename R, typename C, typename... A>
void RegisterOne(const std::string &name, R (C::*method)(A...) const)
{
    RegisterMember(name, method);
}

class Registrar {
public:
    template <typename... Fs>
    Registrar(const char *names, Fs... fns)
    {
        std::vector<std::string> split = SplitInvokeNames(names);
        std::size_t i = 0;
        (RegisterOne(split.at(i++), fns), ...);
    }
};

}  // namespace detail
}  // namespace YR

#define YR_DETAIL_CAT2(a, b) a##b
#define YR_DETAIL_CAT(a, b) YR_DETAIL_CAT2(a, b)

// Registers free functions, factories and member functions under their stringified names.
#define YR_INVOKE(...)                                                                           \
    static ::YR::detail::Registrar YR_DETAIL_CAT(yrInvokeRegistrar_, __COUNTER__)(#__VA_ARGS__, \
                                                                                  __VA_ARGS__);

// Declares the members that make up an instance's state (checkpoint, recovery, and passing the
// object by value). Place it in the public section; the class needs a default constructor.
#define YR_STATE(...)                                            \
    template <typename YrStateVisitor_>                          \
    void YrStateVisit_(YrStateVisitor_ &&yrStateVisitor_)        \
    {                                                            \
        yrStateVisitor_(__VA_ARGS__);                            \
    }                                                            \
    template <typename YrStateVisitor_>                          \
    void YrStateVisit_(YrStateVisitor_ &&yrStateVisitor_) const  \
    {                                                            \
        yrStateVisitor_(__VA_ARGS__);                            \
    }                                                            \
    using YrStateTag_ = void

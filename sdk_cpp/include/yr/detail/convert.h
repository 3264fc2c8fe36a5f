// Values cross as neutral Python values through pybind11 casters: arithmetic types,
// vector, map/unordered_map and their nesting come from pybind11/stl.h, std::string from
// string_caster.h (str or bytes); this header adds classes with YR_STATE(members...) (a list
// of their members), and the argument and result helpers the invokers use.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include "yr/detail/python.h"
#include "yr/detail/traits.h"

namespace pybind11 {
namespace detail {

// A YR_STATE class is the list of its members, in declaration order of the macro.
template <typename T>
class type_caster<T, enable_if_t<::YR::detail::HasYrState<T>::value>> {
public:
    PYBIND11_TYPE_CASTER(T, const_name("YrState"));

    bool load(handle src, bool convert)
    {
        if (!isinstance<sequence>(src) || isinstance<str>(src) || isinstance<bytes>(src)) {
            return false;
        }
        auto seq = reinterpret_borrow<sequence>(src);
        bool ok = true;
        value.YrStateVisit_([&](auto &...member) {
            if (seq.size() != sizeof...(member)) {
                ok = false;
                return;
            }
            std::size_t i = 0;
            ((ok = ok && LoadMember(seq[i++], member, convert)), ...);
        });
        return ok;
    }

    static handle cast(const T &src, return_value_policy, handle)
    {
        list out;
        src.YrStateVisit_([&](const auto &...member) { (out.append(pybind11::cast(member)), ...); });
        return out.release();
    }

private:
    template <typename M>
    static bool LoadMember(handle item, M &member, bool convert)
    {
        make_caster<M> caster;
        if (!caster.load(item, convert)) {
            return false;
        }
        member = cast_op<M &&>(std::move(caster));
        return true;
    }
};

}  // namespace detail
}  // namespace pybind11

namespace YR {
namespace detail {

// One argument, converted to the declared parameter type first so the worker sees the value
// the function expects (an int passed for a double parameter travels as a float).
template <typename Param, typename Arg>
py::object ConvertArg(Arg &&arg)
{
    using P = std::decay_t<Param>;
    if constexpr (IsObjectRef<std::decay_t<Arg>>::value || std::is_same<std::decay_t<Arg>, P>::value) {
        return py::cast(std::forward<Arg>(arg));
    } else {
        return py::cast(P(std::forward<Arg>(arg)));
    }
}

template <typename ParamTuple, std::size_t... I, typename... Args>
PyRef ConvertArgsImpl(std::index_sequence<I...>, Args &&...args)
{
    return WithGil([&] {
        py::list out;
        (out.append(ConvertArg<std::tuple_element_t<I, ParamTuple>>(std::forward<Args>(args))), ...);
        return PyRef::Steal(out.release().ptr());
    });
}

template <typename ParamTuple, std::size_t... I, typename... Args>
py::list ArgsListImpl(std::index_sequence<I...>, Args &&...args)
{
    py::list out(sizeof...(Args));
    (PyList_SetItem(out.ptr(), I, (ConvertArg<std::tuple_element_t<I, ParamTuple>>(std::forward<Args>(args))).release().ptr()),
     ...);
    return out;
}

// ConvertArgs with the GIL already held (the invokers' one GIL section per call).
template <typename ParamTuple, typename... Args>
py::list ArgsList(Args &&...args)
{
    static_assert(std::tuple_size<ParamTuple>::value == sizeof...(Args),
                  "YR: wrong number of arguments for this function");
    static_assert(ArgsFit<ParamTuple, Args...>::value,
                  "YR: an argument does not convert to the function's parameter type");
    return ArgsListImpl<ParamTuple>(std::index_sequence_for<Args...>{}, std::forward<Args>(args)...);
}

// The Python list of arguments for a call of a function whose parameters are ParamTuple.
template <typename ParamTuple, typename... Args>
PyRef ConvertArgs(Args &&...args)
{
    static_assert(std::tuple_size<ParamTuple>::value == sizeof...(Args),
                  "YR: wrong number of arguments for this function");
    static_assert(ArgsFit<ParamTuple, Args...>::value,
                  "YR: an argument does not convert to the function's parameter type");
    return ConvertArgsImpl<ParamTuple>(std::index_sequence_for<Args...>{}, std::forward<Args>(args)...);
}

// Worker side: the C++ values of a Python argument list (GIL held).
template <typename... A, std::size_t... I>
std::tuple<std::decay_t<A>...> LoadArgsImpl(const py::sequence &seq, std::index_sequence<I...>)
{
    return std::tuple<std::decay_t<A>...>{seq[I].template cast<std::decay_t<A>>()...};
}

template <typename... A>
std::tuple<std::decay_t<A>...> LoadArgs(PyObject *args)
{
    auto seq = py::reinterpret_borrow<py::sequence>(args);
    if (seq.size() != sizeof...(A)) {
        throw std::invalid_argument("expected " + std::to_string(sizeof...(A)) + " arguments, got " +
                                    std::to_string(seq.size()));
    }
    return LoadArgsImpl<A...>(seq, std::index_sequence_for<A...>{});
}

// Runs user code without the GIL and returns its result as a new reference.
template <typename R, typename Fn>
PyObject *RunUser(Fn &&fn)
{
    if constexpr (std::is_void<R>::value) {
        {
            py::gil_scoped_release release;
            fn();
        }
        return py::none().release().ptr();
    } else {
        std::decay_t<R> result = [&]() -> std::decay_t<R> {
            py::gil_scoped_release release;
            return fn();
        }();
        return py::cast(std::move(result)).release().ptr();
    }
}

}  // namespace detail
}  // namespace YR

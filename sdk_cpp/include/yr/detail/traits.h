// Compile-time facts about the callables YR_INVOKE registers and the arguments Invoke takes.
#pragma once

#include <tuple>
#include <type_traits>

namespace YR {
template <typename T>
class ObjectRef;

namespace detail {

// FnTraits<F>: Ret, Args (a std::tuple), Class (member pointers only), IsMember.
template <typename F>
struct FnTraits;

template <typename R, typename... A>
struct FnTraits<R (*)(A...)> {
    using Ret = R;
    using ArgTuple = std::tuple<A...>;
    static constexpr bool IsMember = false;
};
template <typename R, typename... A>
struct FnTraits<R (*)(A...) noexcept> : FnTraits<R (*)(A...)> {};
template <typename R, typename... A>
struct FnTraits<R(A...)> : FnTraits<R (*)(A...)> {};

template <typename R, typename C, typename... A>
struct FnTraits<R (C::*)(A...)> {
    using Ret = R;
    using ArgTuple = std::tuple<A...>;
    using Class = C;
    static constexpr bool IsMember = true;
};
template <typename R, typename C, typename... A>
struct FnTraits<R (C::*)(A...) const> : FnTraits<R (C::*)(A...)> {};
template <typename R, typename C, typename... A>
struct FnTraits<R (C::*)(A...) noexcept> : FnTraits<R (C::*)(A...)> {};
template <typename R, typename C, typename... A>
struct FnTraits<R (C::*)(A...) const noexcept> : FnTraits<R (C::*)(A...)> {};

template <typename T>
struct IsObjectRef : std::false_type {};
template <typename T>
struct IsObjectRef<ObjectRef<T>> : std::true_type {};

// An argument fits a parameter when it converts to it, or is an ObjectRef of it (resolved by
// the runtime before the call).
template <typename Param, typename Arg>
struct ArgFits
    : std::integral_constant<bool, std::is_convertible<Arg, std::decay_t<Param>>::value ||
                                       std::is_same<std::decay_t<Arg>, ObjectRef<std::decay_t<Param>>>::value> {};

template <typename ParamTuple, typename... Args>
struct ArgsFit;
template <typename... Params, typename... Args>
struct ArgsFit<std::tuple<Params...>, Args...> {
    static_assert(sizeof...(Params) == sizeof...(Args), "YR: wrong number of arguments for this function");
    static constexpr bool value = (ArgFits<Params, Args>::value && ...);
};

// True for classes that declare YR_STATE(...).
template <typename T, typename = void>
struct HasYrState : std::false_type {};
template <typename T>
struct HasYrState<T, std::void_t<typename T::YrStateTag_>> : std::true_type {};

}  // namespace detail
}  // namespace YR

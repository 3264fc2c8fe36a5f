// Stateful instances: YR::Instance(Factory) -> InstanceCreator -> NamedInstance<T>, and
// handle.Function(&T::M) -> InstanceFunctionHandler -> ObjectRef<R>.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "yr/detail/convert.h"
#include "yr/detail/foreign.h"
#include "yr/detail/registry.h"
#include "yr/invoke_options.h"
#include "yr/object_ref.h"

namespace YR {
namespace detail {

template <typename T, typename M>
class InstanceFunctionHandler {
    using Traits = FnTraits<M>;
    static_assert(Traits::IsMember, "YR: Function() takes a member function pointer, e.g. &Counter::Add");
    static_assert(std::is_base_of<typename Traits::Class, T>::value,
                  "YR: the method does not belong to this instance's class");

public:
    using Ret = typename Traits::Ret;

    // The handle is shared, not copied: making a handler per call (as users write it) then
    // costs no trip to the Python interpreter.
    InstanceFunctionHandler(std::shared_ptr<const PyRef> handle, M method) : handle_(std::move(handle)), method_(method)
    {
    }

    // Kept for openYuanrong compatibility; method calls take no per-call options in yr.
    InstanceFunctionHandler &Options(const InvokeOptions &opts)
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
            PyObject *ref = InvokeMethodHeld(handle_->get(), Name(), pyArgs.ptr());
            if (ref == nullptr) {
                ThrowPythonError();
            }
            return PyRef::Steal(ref);
        }));
    }

private:
    // The registered name as a Python str; the last one is remembered per method type (a
    // handler per call is the common use). Under the GIL, which guards the two statics.
    PyObject *Name() const
    {
        static M lastMethod{};
        static PyObject *lastName = nullptr;
        if (lastName == nullptr || !(lastMethod == method_)) {
            lastName = InternedName(RegisteredName(PointerKey(method_)));
            lastMethod = method_;
        }
        return lastName;
    }

    std::shared_ptr<const PyRef> handle_;
    M method_;
    InvokeOptions opts_;
};

}  // namespace detail

// A handle to a stateful instance of T. Copyable; can be passed as an argument to functions
// and methods (it crosses as the runtime's handle and is usable in the receiving worker).
template <typename T>
class NamedInstance {
public:
    NamedInstance() : handle_(std::make_shared<const detail::PyRef>()) {}
    explicit NamedInstance(detail::PyRef handle) : handle_(std::make_shared<const detail::PyRef>(std::move(handle))) {}

    template <typename M>
    detail::InstanceFunctionHandler<T, M> Function(M method) const
    {
        return detail::InstanceFunctionHandler<T, M>(handle_, method);
    }

    // A method by its registered name, for instances of any language (yr/cross_language.h):
    // Python and Java methods by name, C++ ones as registered ("&Counter::Add").
    template <typename R>
    detail::ForeignMethodHandler<R> PyFunction(const std::string &method) const
    {
        return detail::ForeignMethodHandler<R>(*handle_, method);
    }
    template <typename R>
    detail::ForeignMethodHandler<R> JavaFunction(const std::string &method) const
    {
        return detail::ForeignMethodHandler<R>(*handle_, method);
    }
    template <typename R>
    detail::ForeignMethodHandler<R> CppFunction(const std::string &method) const
    {
        return detail::ForeignMethodHandler<R>(*handle_, method);
    }

    // Destroys the instance (idempotent). isSync is accepted for compatibility: termination is
    // always requested at once and completes in the runtime.
    void Terminate(bool isSync = false) const
    {
        (void)isSync;
        detail::TerminateInstance(handle_->get());
    }

    std::string GetInstanceId() const
    {
        return detail::InstanceId(handle_->get());
    }

    // The Python handle (internal).
    const detail::PyRef &Raw() const
    {
        return *handle_;
    }

private:
    // Shared by copies and by method handlers (copying a PyRef takes the GIL; this does not).
    std::shared_ptr<const detail::PyRef> handle_;
};

template <typename T>
using InstanceHandler = NamedInstance<T>;

namespace detail {

// F is the factory's pointer type, `T *(*)(A...)`.
template <typename F>
class InstanceCreator {
    using Traits = FnTraits<F>;
    using Class = std::remove_pointer_t<typename Traits::Ret>;
    static_assert(std::is_pointer<typename Traits::Ret>::value && std::is_class<Class>::value,
                  "YR: Instance() takes a static factory returning a pointer, e.g. Counter::FactoryCreate");

public:
    InstanceCreator(F factory, std::string name, std::string ns)
        : factory_(factory), name_(std::move(name)), ns_(std::move(ns))
    {
    }

    InstanceCreator &Options(const InvokeOptions &opts)
    {
        opts_ = opts;
        return *this;
    }

    template <typename... Args>
    NamedInstance<Class> Invoke(Args &&...args)
    {
        CheckInitialized();
        const std::string &factory = RegisteredName(PointerKey(factory_));
        PyRef pyArgs = ConvertArgs<typename Traits::ArgTuple>(std::forward<Args>(args)...);
        return NamedInstance<Class>(PyRef::Steal(
            CreateInstance(factory, ClassNameOf(factory), pyArgs.get(), opts_, name_, ns_)));
    }

private:
    F factory_;
    std::string name_;
    std::string ns_;
    InvokeOptions opts_;
};

}  // namespace detail

// Starts creating an instance with the registered factory; the handle comes back at once.
// With a name (and namespace), an existing instance of that name is reused.
template <typename F>
detail::InstanceCreator<std::decay_t<F>> Instance(F factory, const std::string &name = "", const std::string &ns = "")
{
    return detail::InstanceCreator<std::decay_t<F>>(factory, name, ns);
}

// The handle of the running instance named `name` in namespace `ns` (a lookup only: nothing is
// created). Waits up to timeoutSec for it to run; throws YR::Exception when there is none (1003),
// it does not run in time, the name is empty or the timeout negative (1001).
template <typename T>
NamedInstance<T> GetInstance(const std::string &name, const std::string &ns = "", int timeoutSec = 60)
{
    detail::CheckInitialized();
    if (name.empty()) {
        throw Exception(ERR_PARAM_INVALID, RUNTIME, "GetInstance: the name must not be empty");
    }
    if (timeoutSec < 0) {
        throw Exception(ERR_PARAM_INVALID, RUNTIME,
                        "GetInstance: the timeout must be >= 0, got " + std::to_string(timeoutSec));
    }
    return NamedInstance<T>(detail::PyRef::Steal(detail::GetNamedInstance(name, ns, timeoutSec)));
}

}  // namespace YR

namespace pybind11 {
namespace detail {

template <typename T>
class type_caster<::YR::NamedInstance<T>> {
public:
    PYBIND11_TYPE_CASTER(::YR::NamedInstance<T>, const_name("NamedInstance"));

    bool load(handle src, bool)
    {
        if (src.is_none()) {
            return false;
        }
        value = ::YR::NamedInstance<T>(::YR::detail::PyRef::Borrow(src.ptr()));
        return true;
    }
    static handle cast(const ::YR::NamedInstance<T> &src, return_value_policy, handle)
    {
        return handle(src.Raw().get()).inc_ref();
    }
};

}  // namespace detail
}  // namespace pybind11

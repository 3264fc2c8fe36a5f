// Cross-language calls from C++ (docs/cross-language.md): Python and Java functions and
// instances, named by strings, with no registration step.
//
//   auto r = YR::PyFunction<int64_t>("calc", "add").Invoke(int64_t(1), int64_t(2));
//   auto h = YR::Instance(YR::PyInstanceClass::FactoryCreate("calc", "Counter")).Invoke();
//   h.PyFunction<int64_t>("add").Invoke(int64_t(3));
//   YR::JavaFunction<std::string>("com.example.Fns", "hello").Invoke(std::string("x"));
//   YR::Instance(YR::JavaInstanceClass::FactoryCreate("com.example.Counter")).Invoke();
//
// Python modules import from the driver's working directory (and the driver's Python import
// path); Java classes load from the class path in $YR_JAVA_CODE_PATH. Arguments cross as
// their own C++ types (a string literal as std::string); the result converts to R at Get.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "yr/detail/convert.h"
#include "yr/detail/foreign.h"
#include "yr/invoke_options.h"
#include "yr/named_instance.h"
#include "yr/object_ref.h"

namespace YR {
namespace detail {

// A stateless function of another language: .Options(opt).SetUrn(urn).Invoke(args...).
template <typename R>
class ForeignFunctionHandler {
public:
    ForeignFunctionHandler(std::string language, std::string owner, std::string function)
        : language_(std::move(language)), owner_(std::move(owner)), function_(std::move(function))
    {
    }

    ForeignFunctionHandler &Options(const InvokeOptions &opts)
    {
        opts_ = opts;
        return *this;
    }

    // Accepted for openYuanrong compatibility; yr needs no URN.
    ForeignFunctionHandler &SetUrn(const std::string &urn)
    {
        urn_ = urn;
        return *this;
    }

    template <typename... Args>
    ObjectRef<R> Invoke(Args &&...args)
    {
        CheckInitialized();
        PyRef pyArgs = ConvertArgs<std::tuple<ForeignParam<Args>...>>(std::forward<Args>(args)...);
        return ObjectRef<R>(PyRef::Steal(InvokeForeign(language_, owner_, function_, pyArgs.get(), opts_)));
    }

private:
    std::string language_, owner_, function_, urn_;
    InvokeOptions opts_;
};

// Creates an instance of a class of another language: YR::Instance(XInstanceClass::FactoryCreate(..)).
template <typename Tag>
class ForeignInstanceCreator {
public:
    ForeignInstanceCreator(const Tag &cls, std::string name, std::string ns)
        : cls_(cls), name_(std::move(name)), ns_(std::move(ns))
    {
    }

    ForeignInstanceCreator &Options(const InvokeOptions &opts)
    {
        opts_ = opts;
        return *this;
    }

    ForeignInstanceCreator &SetUrn(const std::string &urn)
    {
        urn_ = urn;
        return *this;
    }

    template <typename... Args>
    NamedInstance<Tag> Invoke(Args &&...args)
    {
        CheckInitialized();
        PyRef pyArgs = ConvertArgs<std::tuple<ForeignParam<Args>...>>(std::forward<Args>(args)...);
        return NamedInstance<Tag>(PyRef::Steal(
            CreateForeign(Tag::language, cls_.owner, cls_.name, pyArgs.get(), opts_, name_, ns_)));
    }

private:
    Tag cls_;
    std::string name_, ns_, urn_;
    InvokeOptions opts_;
};

}  // namespace detail

// A Python class by module and class name.
struct PyInstanceClass {
    static constexpr const char *language = "python";
    std::string owner;   // module
    std::string name;    // class
    static PyInstanceClass FactoryCreate(const std::string &module, const std::string &cls)
    {
        return PyInstanceClass{module, cls};
    }
};

// A Java class by its fully qualified name; the constructor is picked by argument count.
struct JavaInstanceClass {
    static constexpr const char *language = "java";
    std::string owner;   // fully qualified class name
    std::string name;    // "<init>"
    static JavaInstanceClass FactoryCreate(const std::string &fqcn)
    {
        return JavaInstanceClass{fqcn, "<init>"};
    }
};

template <typename R>
detail::ForeignFunctionHandler<R> PyFunction(const std::string &module, const std::string &function)
{
    return detail::ForeignFunctionHandler<R>("python", module, function);
}

// A public static method, found by name and argument count.
template <typename R>
detail::ForeignFunctionHandler<R> JavaFunction(const std::string &cls, const std::string &function)
{
    return detail::ForeignFunctionHandler<R>("java", cls, function);
}

inline detail::ForeignInstanceCreator<PyInstanceClass> Instance(const PyInstanceClass &cls, const std::string &name = "",
                                                                const std::string &ns = "")
{
    return detail::ForeignInstanceCreator<PyInstanceClass>(cls, name, ns);
}

inline detail::ForeignInstanceCreator<JavaInstanceClass> Instance(const JavaInstanceClass &cls,
                                                                  const std::string &name = "",
                                                                  const std::string &ns = "")
{
    return detail::ForeignInstanceCreator<JavaInstanceClass>(cls, name, ns);
}

}  // namespace YR

// libyr's cross-language calls (yr/cross_language.h): a {"language": ...} spec for
// yr._bridge; the bridge finds the code (Python import path, Java class path).
#include <string>

#include "internal.h"

namespace YR {
namespace detail {
namespace {

py::dict ForeignSpec(const std::string &language, const std::string &owner, const std::string &member,
                     const char *memberKey)
{
    py::dict spec;
    spec["language"] = language;
    if (language == "python") {
        spec["module"] = owner;
        spec[memberKey] = member;
    } else if (language == "java") {
        spec["class"] = owner;
        spec[std::string(memberKey) == "class" ? "constructor" : memberKey] = member;
    } else {
        throw Exception(ERR_PARAM_INVALID, RUNTIME, "unknown target language " + language);
    }
    return spec;
}

}  // namespace

PyObject *InvokeForeign(const std::string &language, const std::string &owner, const std::string &member,
                        PyObject *args, const InvokeOptions &opts)
{
    return CallPython([&] {
        py::dict spec = ForeignSpec(language, owner, member, "function");
        return Bridge().attr("invoke_function")(spec, py::handle(args), OptionsDict(opts)).release().ptr();
    });
}

PyObject *CreateForeign(const std::string &language, const std::string &owner, const std::string &member,
                        PyObject *args, const InvokeOptions &opts, const std::string &name, const std::string &ns)
{
    return CallPython([&] {
        return CreateFromSpec(ForeignSpec(language, owner, member, "class"), args, opts, name, ns);
    });
}

}  // namespace detail
}  // namespace YR

// The YR_INVOKE registry: names to invokers, and pointer keys to names.
//
// Filled during static initialisation of the user's program (before main), read afterwards
// only, so it needs no lock.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "internal.h"

namespace YR {
namespace detail {
namespace {

struct Registry {
    std::map<std::string, FactoryEntry> factories;
    std::map<std::string, MethodEntry> methods;
    std::map<std::string, FunctionEntry> functions;
    std::map<std::string, std::string> names;  // pointer key -> name
};

Registry &TheRegistry()
{
    static Registry *registry = new Registry();  // never destroyed: lookups may run during exit
    return *registry;
}

bool Taken(const std::string &name)
{
    Registry &r = TheRegistry();
    return r.factories.count(name) || r.methods.count(name) || r.functions.count(name);
}

void CheckUnique(const std::string &name)
{
    // openYuanrong aborts on double registration: two entries with one name cannot both be
    // reachable from another process.
    if (Taken(name)) {
        std::fprintf(stderr, "YR_INVOKE: %s is registered twice\n", name.c_str());
        std::abort();
    }
}

}  // namespace

std::vector<std::string> SplitInvokeNames(const char *names)
{
    std::vector<std::string> out(1);
    int depth = 0;  // commas inside <...> or (...) belong to one entry
    for (const char *p = names; *p != '\0'; ++p) {
        char c = *p;
        if (c == '<' || c == '(') {
            ++depth;
        } else if (c == '>' || c == ')') {
            --depth;
        }
        if (c == ',' && depth == 0) {
            out.emplace_back();
        } else if (!std::isspace(static_cast<unsigned char>(c))) {
            out.back().push_back(c);
        }
    }
    return out;
}

std::string ClassNameOf(const std::string &factoryName)
{
    std::string name = factoryName;
    if (!name.empty() && name[0] == '&') {
        name.erase(0, 1);
    }
    auto pos = name.rfind("::");
    return pos == std::string::npos ? name : name.substr(0, pos);
}

void RegisterFactory(const std::string &name, const std::string &key, FactoryEntry entry)
{
    CheckUnique(name);
    TheRegistry().factories.emplace(name, std::move(entry));
    TheRegistry().names[key] = name;
}

void RegisterMethod(const std::string &name, const std::string &key, MethodEntry entry)
{
    CheckUnique(name);
    TheRegistry().methods.emplace(name, std::move(entry));
    TheRegistry().names[key] = name;
}

void RegisterFunction(const std::string &name, const std::string &key, FunctionEntry entry)
{
    CheckUnique(name);
    TheRegistry().functions.emplace(name, std::move(entry));
    TheRegistry().names[key] = name;
}

const std::string &RegisteredName(const std::string &key)
{
    const auto &names = TheRegistry().names;
    auto it = names.find(key);
    if (it == names.end()) {
        throw Exception(ERR_PARAM_INVALID, RUNTIME,
                        "function is not registered, check if it is decorated by YR_INVOKE");
    }
    return it->second;
}

const FactoryEntry *FindFactory(const std::string &name)
{
    auto &m = TheRegistry().factories;
    auto it = m.find(name);
    return it == m.end() ? nullptr : &it->second;
}

const MethodEntry *FindMethod(const std::string &name)
{
    auto &m = TheRegistry().methods;
    auto it = m.find(name);
    return it == m.end() ? nullptr : &it->second;
}

const FunctionEntry *FindFunction(const std::string &name)
{
    auto &m = TheRegistry().functions;
    auto it = m.find(name);
    return it == m.end() ? nullptr : &it->second;
}

}  // namespace detail
}  // namespace YR

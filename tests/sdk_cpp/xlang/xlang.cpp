// The C++ side of the cross-language matrix (tests/sdk_cpp/test_cross_language.py):
// C++ targets (functions and the Box class) for Python and Java callers, and, run as
// `xlang driver`, a C++ driver that calls Python, Java and C++ targets and prints one line
// per check: "PASS <target> <case>" or "FAIL <target> <case>: ...", and "ERROR <target>
// <kind>: <message>" for the errors it provokes.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "yr/yr.h"

using Nested = std::map<std::string, std::vector<std::map<std::string, double>>>;

bool EchoBool(bool x) { return x; }
int64_t EchoInt(int64_t x) { return x; }
double EchoDouble(double x) { return x; }
std::string EchoStr(std::string x) { return x; }
std::vector<int64_t> EchoList(std::vector<int64_t> x) { return x; }
std::map<std::string, int64_t> EchoMap(std::map<std::string, int64_t> x) { return x; }
Nested EchoNested(Nested x) { return x; }
std::optional<int64_t> EchoNull(std::optional<int64_t> x) { return x; }
std::string Fail(std::string message) { throw std::invalid_argument("cpp says " + message); }

class Box {
public:
    explicit Box(int64_t start) : count(start) {}
    static Box *FactoryCreate(int64_t start) { return new Box(start); }
    int64_t Add(int64_t n) { count += n; return count; }
    bool EchoBool(bool x) { return x; }
    int64_t EchoInt(int64_t x) { return x; }
    double EchoDouble(double x) { return x; }
    std::string EchoStr(std::string x) { return x; }
    std::vector<int64_t> EchoList(std::vector<int64_t> x) { return x; }
    std::map<std::string, int64_t> EchoMap(std::map<std::string, int64_t> x) { return x; }
    Nested EchoNested(Nested x) { return x; }
    std::optional<int64_t> EchoNull(std::optional<int64_t> x) { return x; }
    std::string Fail(std::string message) { throw std::out_of_range("cpp box says " + message); }
    int64_t count;
};

YR_INVOKE(EchoBool, EchoInt, EchoDouble, EchoStr, EchoList, EchoMap, EchoNested, EchoNull, Fail)
YR_INVOKE(Box::FactoryCreate, &Box::Add, &Box::EchoBool, &Box::EchoInt, &Box::EchoDouble, &Box::EchoStr,
          &Box::EchoList, &Box::EchoMap, &Box::EchoNested, &Box::EchoNull, &Box::Fail)

namespace {

const int64_t kBig = (int64_t(1) << 62) + 7;
const std::string kText = "h\xc3\xa9llo \xe2\x9c\x93";   // UTF-8: crosses as a string
const std::string kBytes = std::string("\x00\xff\x01 raw", 7);  // not UTF-8: crosses as bytes
const std::vector<int64_t> kList = {1, -2, kBig};
const std::map<std::string, int64_t> kMap = {{"a", 1}, {"b", -kBig}};
const Nested kNested = {{"k", {{{"x", 1.5}}, {{"y", -2.25}, {"z", 0.0}}}}, {"empty", {}}};

template <typename T>
void Check(const std::string &target, const std::string &name, YR::ObjectRef<T> ref, const T &expected)
{
    try {
        auto got = YR::Get(ref, 60);
        if (*got == expected) {
            std::cout << "PASS " << target << " " << name << std::endl;
        } else {
            std::cout << "FAIL " << target << " " << name << ": wrong value" << std::endl;
        }
    } catch (const std::exception &e) {
        std::cout << "FAIL " << target << " " << name << ": " << e.what() << std::endl;
    }
}

template <typename T>
void Error(const std::string &target, const std::string &kind, YR::ObjectRef<T> ref)
{
    try {
        YR::Get(ref, 60);
        std::cout << "FAIL " << target << " " << kind << ": no error" << std::endl;
    } catch (const YR::Exception &e) {
        std::string msg = e.Msg();
        for (auto &c : msg) {
            if (c == '\n') {
                c = '|';   // one line per error
            }
        }
        std::cout << "ERROR " << target << " " << kind << " code=" << e.Code() << ": " << msg << std::endl;
    }
}

// Every portable value through a function and a method of another language that echo by name.
template <typename Fn, typename Method>
void EchoAll(const std::string &target, Fn fn, Method method)
{
    Check(target, "fn-bool", fn.template operator()<bool>(true), true);
    Check(target, "fn-int", fn.template operator()<int64_t>(kBig), kBig);
    Check(target, "fn-double", fn.template operator()<double>(2.5), 2.5);
    Check(target, "fn-str", fn.template operator()<std::string>(kText), kText);
    Check(target, "fn-bytes", fn.template operator()<std::string>(kBytes), kBytes);
    Check(target, "fn-list", fn.template operator()<std::vector<int64_t>>(kList), kList);
    Check(target, "fn-map", fn.template operator()<std::map<std::string, int64_t>>(kMap), kMap);
    Check(target, "fn-nested", fn.template operator()<Nested>(kNested), kNested);
    Check(target, "fn-null", fn.template operator()<std::optional<int64_t>>(std::optional<int64_t>()),
          std::optional<int64_t>());
    Check(target, "method-bool", method.template operator()<bool>(false), false);
    Check(target, "method-int", method.template operator()<int64_t>(-kBig), -kBig);
    Check(target, "method-double", method.template operator()<double>(-0.125), -0.125);
    Check(target, "method-str", method.template operator()<std::string>(kText), kText);
    Check(target, "method-bytes", method.template operator()<std::string>(kBytes), kBytes);
    Check(target, "method-list", method.template operator()<std::vector<int64_t>>(kList), kList);
    Check(target, "method-map", method.template operator()<std::map<std::string, int64_t>>(kMap), kMap);
    Check(target, "method-nested", method.template operator()<Nested>(kNested), kNested);
    Check(target, "method-null", method.template operator()<std::optional<int64_t>>(std::optional<int64_t>()),
          std::optional<int64_t>());
}

void CallPython()
{
    auto counter = YR::Instance(YR::PyInstanceClass::FactoryCreate("pytargets", "Counter")).Invoke(int64_t(10));
    Check("python", "method-add", counter.PyFunction<int64_t>("add").Invoke(int64_t(5)), int64_t(15));
    EchoAll(
        "python",
        [](auto x) { return YR::PyFunction<decltype(x)>("pytargets", "echo").Invoke(x); },
        [&](auto x) { return counter.PyFunction<decltype(x)>("echo").Invoke(x); });
    Error("python", "fn-error", YR::PyFunction<std::string>("pytargets", "fail")
                                    .SetUrn("sn:cn:yrk:default:function:0-yr-py:$latest")   // accepted, not needed
                                    .Invoke("boom"));
    Error("python", "method-error", counter.PyFunction<std::string>("fail").Invoke("bang"));
    Error("python", "missing-module", YR::PyFunction<int64_t>("no_such_module", "f").Invoke(int64_t(1)));
    counter.Terminate();
}

void CallJava()
{
    auto counter = YR::Instance(YR::JavaInstanceClass::FactoryCreate("com.example.xlang.Counter"))
                       .SetUrn("sn:cn:yrk:default:function:0-yr-java:$latest")
                       .Invoke(int64_t(10));
    Check("java", "method-add", counter.JavaFunction<int64_t>("add").Invoke(int64_t(5)), int64_t(15));
    EchoAll(
        "java",
        [](auto x) { return YR::JavaFunction<decltype(x)>("com.example.xlang.Targets", "echo").Invoke(x); },
        [&](auto x) { return counter.JavaFunction<decltype(x)>("echo").Invoke(x); });
    Error("java", "fn-error", YR::JavaFunction<std::string>("com.example.xlang.Targets", "fail").Invoke("boom"));
    Error("java", "method-error", counter.JavaFunction<std::string>("fail").Invoke("bang"));
    Error("java", "missing-class", YR::JavaFunction<int64_t>("com.example.Missing", "f").Invoke(int64_t(1)));
    counter.Terminate();
}

void CallCpp()
{
    auto box = YR::Instance(Box::FactoryCreate).Invoke(int64_t(10));
    Check("cpp", "method-add", box.Function(&Box::Add).Invoke(int64_t(5)), int64_t(15));
    Check("cpp", "fn-int", YR::Function(EchoInt).Invoke(kBig), kBig);
    Check("cpp", "fn-bytes", YR::Function(EchoStr).Invoke(kBytes), kBytes);
    Check("cpp", "fn-nested", YR::Function(EchoNested).Invoke(kNested), kNested);
    Check("cpp", "fn-null", YR::Function(EchoNull).Invoke(std::optional<int64_t>()), std::optional<int64_t>());
    Check("cpp", "method-map", box.Function(&Box::EchoMap).Invoke(kMap), kMap);
    Check("cpp", "method-list", box.Function(&Box::EchoList).Invoke(kList), kList);
    Error("cpp", "fn-error", YR::Function(Fail).Invoke(std::string("boom")));
    Error("cpp", "method-error", box.Function(&Box::Fail).Invoke(std::string("bang")));
    box.Terminate();
}

// Calls per second of method `call` (returning a ref): synchronous, then n invokes and one Get.
template <typename Call>
void Rate(const std::string &metric, int n, Call call)
{
    for (int i = 0; i < 50; i++) {
        YR::Get(call(), 60);   // warm: the instance is up, its code loaded
    }
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; i++) {
        YR::Get(call(), 60);
    }
    double sync = n / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t0 = std::chrono::steady_clock::now();
    std::vector<decltype(call())> refs;
    for (int i = 0; i < n; i++) {
        refs.push_back(call());
    }
    YR::Get(refs, 300);
    double async = n / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "{\"metric\": \"" << metric << "_sync\", \"value\": " << sync << ", \"unit\": \"calls/s\", \"n\": " << n
              << "}" << std::endl;
    std::cout << "{\"metric\": \"" << metric << "_async\", \"value\": " << async << ", \"unit\": \"calls/s\", \"n\": " << n
              << "}" << std::endl;
}

void Bench(int n)
{
    auto py = YR::Instance(YR::PyInstanceClass::FactoryCreate("pytargets", "Counter")).Invoke(int64_t(0));
    Rate("cpp_to_python_method", n, [&] { return py.PyFunction<int64_t>("add").Invoke(int64_t(1)); });
    auto java = YR::Instance(YR::JavaInstanceClass::FactoryCreate("com.example.xlang.Counter")).Invoke(int64_t(0));
    Rate("cpp_to_java_method", n, [&] { return java.JavaFunction<int64_t>("add").Invoke(int64_t(1)); });
    auto box = YR::Instance(Box::FactoryCreate).Invoke(int64_t(0));
    Rate("cpp_to_cpp_method", n, [&] { return box.Function(&Box::Add).Invoke(int64_t(1)); });
    py.Terminate();
    java.Terminate();
    box.Terminate();
}

}  // namespace

int main(int argc, char *argv[])
{
    YR::Init(YR::Config{}, argc, argv);   // in a worker: serves the targets above, never returns
    std::string which = argc > 2 ? argv[2] : "all";
    if (argc > 1 && std::string(argv[1]) == "bench") {
        Bench(argc > 2 ? std::stoi(argv[2]) : 1000);
    }
    if (argc > 1 && std::string(argv[1]) == "driver") {
        if (which == "all" || which == "python") CallPython();
        if (which == "all" || which == "java") CallJava();
        if (which == "all" || which == "cpp") CallCpp();
    }
    YR::Finalize();
    return 0;
}

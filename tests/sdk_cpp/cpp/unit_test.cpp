// Unit tests of the C++ SDK without a runtime: the YR_INVOKE registry, the value casters and
// the worker host, driven in-process through an embedded interpreter. Run by
// tests/sdk_cpp/test_cpp_unit.py (its Python twin).
#include <gtest/gtest.h>
#include <pybind11/embed.h>

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "yr/yr.h"

namespace py = pybind11;

class Counter {
public:
    Counter() : count(0) {}
    static Counter *FactoryCreate()
    {
        return new Counter();
    }
    static Counter *FactoryCreateFrom(int start)
    {
        auto *c = new Counter();
        c->count = start;
        return c;
    }
    int Add(int n)
    {
        count += n;
        return count;
    }
    int Get() const
    {
        return count;
    }
    int Fail(std::string msg)
    {
        throw std::runtime_error(msg);
    }
    void Reset()
    {
        count = 0;
    }
    YR_STATE(count);

private:
    int count;
};
YR_INVOKE(Counter::FactoryCreate, Counter::FactoryCreateFrom, &Counter::Add, &Counter::Get, &Counter::Fail,
          &Counter::Reset)

struct Point {
    double x = 0;
    double y = 0;
    std::vector<std::string> tags;
    YR_STATE(x, y, tags);
};

int Sum(std::vector<int> v)
{
    int s = 0;
    for (int x : v) {
        s += x;
    }
    return s;
}

Point Move(Point p, double dx)
{
    p.x += dx;
    p.tags.push_back("moved");
    return p;
}
YR_INVOKE(Sum, Move)

TEST(Registry, SplitsStringifiedNames)
{
    auto names = YR::detail::SplitInvokeNames("Counter::FactoryCreate, &Counter::Add,&Foo<int, 2>::Bar");
    ASSERT_EQ(names.size(), 3u);
    EXPECT_EQ(names[0], "Counter::FactoryCreate");
    EXPECT_EQ(names[1], "&Counter::Add");
    EXPECT_EQ(names[2], "&Foo<int,2>::Bar");
    EXPECT_EQ(YR::detail::ClassNameOf("ns::Counter::FactoryCreate"), "ns::Counter");
}

TEST(Registry, MapsPointersBackToNames)
{
    using YR::detail::PointerKey;
    using YR::detail::RegisteredName;
    EXPECT_EQ(RegisteredName(PointerKey(&Counter::FactoryCreate)), "Counter::FactoryCreate");
    EXPECT_EQ(RegisteredName(PointerKey(&Counter::Add)), "&Counter::Add");
    EXPECT_EQ(RegisteredName(PointerKey(&Counter::Get)), "&Counter::Get");
    EXPECT_EQ(RegisteredName(PointerKey(&Sum)), "Sum");
}

int NotRegistered(int x)
{
    return x;
}

TEST(Registry, UnregisteredFunctionIsAParamError)
{
    try {
        YR::detail::RegisteredName(YR::detail::PointerKey(&NotRegistered));
        FAIL() << "no exception";
    } catch (const YR::Exception &e) {
        EXPECT_EQ(e.Code(), YR::ERR_PARAM_INVALID);
        EXPECT_NE(std::string(e.what()).find("YR_INVOKE"), std::string::npos);
    }
}

TEST(RegistryDeathTest, DoubleRegistrationAborts)
{
    EXPECT_DEATH(YR::detail::RegisterFunction("Sum", "another key", YR::detail::FunctionEntry{}),
                 "Sum is registered twice");
}

TEST(Exception, FormatsLikeOpenYuanrong)
{
    YR::Exception e(2002, 20, "boom");
    EXPECT_STREQ(e.what(), "ErrCode: 2002, ModuleCode: 20, ErrMsg: boom");
    EXPECT_EQ(e.Code(), 2002);
    EXPECT_EQ(e.MCode(), 20);
    EXPECT_EQ(e.Msg(), "boom");
}

template <typename T>
T RoundTrip(const T &value, const char *expectedRepr)
{
    py::object obj = py::cast(value);
    EXPECT_EQ(py::repr(obj).cast<std::string>(), expectedRepr);
    return obj.cast<T>();
}

TEST(Casters, ContainersBecomeNeutralValues)
{
    EXPECT_EQ(RoundTrip(std::vector<int>{1, 2}, "[1, 2]"), (std::vector<int>{1, 2}));
    std::map<std::string, std::vector<double>> m{{"a", {1.5}}, {"b", {}}};
    EXPECT_EQ(RoundTrip(m, "{'a': [1.5], 'b': []}"), m);
    std::unordered_map<int, std::string> u{{7, "seven"}};
    EXPECT_EQ(RoundTrip(u, "{7: 'seven'}"), u);
    std::vector<std::map<std::string, int>> nested{{{"k", 1}}, {}};
    EXPECT_EQ(RoundTrip(nested, "[{'k': 1}, {}]"), nested);
    EXPECT_EQ(RoundTrip(std::string("hi"), "'hi'"), "hi");
    EXPECT_EQ(RoundTrip(true, "True"), true);
    EXPECT_EQ(RoundTrip(int64_t(1) << 40, "1099511627776"), int64_t(1) << 40);
}

TEST(Casters, StringsAreTextWhenUtf8ElseBytes)
{
    EXPECT_EQ(RoundTrip(std::string("h\xc3\xa9"), "'h\u00e9'"), "h\xc3\xa9");
    EXPECT_EQ(RoundTrip(std::string(), "''"), "");
    std::string raw("\xff\x00q", 3);
    EXPECT_EQ(RoundTrip(raw, "b'\\xff\\x00q'"), raw);
    EXPECT_EQ(RoundTrip(std::string("\xed\xa0\x80"), "b'\\xed\\xa0\\x80'"), "\xed\xa0\x80");  // a surrogate
    std::map<std::string, std::string> m{{raw, "v"}};
    EXPECT_EQ(RoundTrip(m, "{b'\\xff\\x00q': 'v'}"), m);
    EXPECT_EQ(py::eval("memoryview(b'\\x80\\x00z')").cast<std::string>(), std::string("\x80\x00z", 3));
    EXPECT_EQ(py::eval("bytearray(b'\\x80')").cast<std::string>(), "\x80");
    EXPECT_THROW(py::eval("memoryview(b'abcd')[::2]").cast<std::string>(), py::cast_error);  // not contiguous
    EXPECT_THROW(py::eval("'\\ud800'").cast<std::string>(), py::cast_error);   // a str that is not UTF-8
}

TEST(Casters, YrStateClassIsTheListOfItsMembers)
{
    Point p{1.0, 2.5, {"a"}};
    Point back = RoundTrip(p, "[1.0, 2.5, ['a']]");
    EXPECT_EQ(back.x, 1.0);
    EXPECT_EQ(back.y, 2.5);
    EXPECT_EQ(back.tags, std::vector<std::string>{"a"});
    std::vector<Point> ps{p};
    EXPECT_EQ(RoundTrip(ps, "[[1.0, 2.5, ['a']]]").size(), 1u);
    EXPECT_THROW(py::cast<Point>(py::eval("[1.0]")), py::cast_error);
}

TEST(Casters, ArgumentsTakeTheDeclaredParameterType)
{
    YR::detail::PyRef args = YR::detail::ConvertArgs<std::tuple<double, std::string>>(3, "x");
    EXPECT_EQ(py::repr(py::handle(args.get())).cast<std::string>(), "[3.0, 'x']");
}

TEST(Casters, HandlesCrossAsTheSamePythonObject)
{
    py::object handle = py::eval("object()");
    auto named = handle.cast<YR::NamedInstance<Counter>>();
    EXPECT_TRUE(py::cast(named).is(handle));
    auto ref = handle.cast<YR::ObjectRef<int>>();
    EXPECT_TRUE(py::cast(ref).is(handle));
}

// Python thread states of the interpreter (GIL held).
static int ThreadStates()
{
    int n = 0;
    for (PyThreadState *t = PyInterpreterState_ThreadHead(PyInterpreterState_Main()); t != nullptr;
         t = PyThreadState_Next(t)) {
        n++;
    }
    return n;
}

// A thread of the user's calls into Python with one thread state from call to call, which ends
// with the thread (issue 16: each GIL section used to make and destroy one, so Python
// thread-local data was lost between two calls of the same thread).
TEST(Gil, AUserThreadKeepsOnePythonThreadStateUntilItEnds)
{
    using YR::detail::WithGil;
    int before = ThreadStates();
    py::object local = py::module_::import("threading").attr("local")();
    uint64_t first = 0;
    uint64_t second = 0;
    int during = 0;
    bool kept = false;
    {
        py::gil_scoped_release release;
        std::thread t([&] {
            first = WithGil([] { return PyThreadState_GetID(PyThreadState_Get()); });
            WithGil([&] {
                local.attr("mark") = 1;
                return 0;
            });
            second = WithGil([] { return PyThreadState_GetID(PyThreadState_Get()); });
            kept = WithGil([&] { return py::hasattr(local, "mark"); });
            during = WithGil([] { return ThreadStates(); });
        });
        t.join();
    }
    EXPECT_EQ(first, second);
    EXPECT_TRUE(kept);
    EXPECT_EQ(during, before + 1);
    EXPECT_EQ(ThreadStates(), before);
    EXPECT_FALSE(py::hasattr(local, "mark"));   // the main thread's view of the local
}

class Host : public ::testing::Test {
protected:
    py::object host = py::module_::import("_yr_cpp_host").attr("CppHost")();
    py::dict Spec(const char *key, const char *value)
    {
        py::dict d;
        d["language"] = "cpp";
        d[key] = value;
        return d;
    }
    py::object Create(const char *factory, py::list args = py::list())
    {
        return host.attr("create_instance")(Spec("factory", factory), args, py::dict());
    }
    py::object Call(py::object inst, const char *method, py::list args = py::list())
    {
        return host.attr("call_method")(inst, method, args, py::dict());
    }
    std::string ErrorOf(const std::function<void()> &fn)
    {
        try {
            fn();
        } catch (py::error_already_set &e) {
            return py::str(e.value()).cast<std::string>();
        }
        return "";
    }
};

TEST_F(Host, RunsFactoriesAndMethods)
{
    py::object c = Create("Counter::FactoryCreate");
    EXPECT_EQ(Call(c, "&Counter::Add", py::list(py::make_tuple(3))).cast<int>(), 3);
    EXPECT_EQ(Call(c, "&Counter::Get").cast<int>(), 3);
    EXPECT_TRUE(Call(c, "&Counter::Reset").is_none());
    py::object d = Create("Counter::FactoryCreateFrom", py::list(py::make_tuple(10)));
    EXPECT_EQ(Call(d, "&Counter::Get").cast<int>(), 10);
}

TEST_F(Host, RunsFreeFunctionsWithContainersAndStateClasses)
{
    py::object r = host.attr("call_function")(Spec("function", "Sum"), py::list(py::make_tuple(py::eval("[1, 2, 3]"))), py::dict());
    EXPECT_EQ(r.cast<int>(), 6);
    py::object m = host.attr("call_function")(Spec("function", "Move"), py::list(py::make_tuple(py::eval("[1.0, 2.0, []]"), 2)), py::dict());
    EXPECT_EQ(py::repr(m).cast<std::string>(), "[3.0, 2.0, ['moved']]");
}

TEST_F(Host, UserExceptionKeepsWhat)
{
    py::object c = Create("Counter::FactoryCreate");
    std::string msg = ErrorOf([&] { Call(c, "&Counter::Fail", py::list(py::make_tuple("disk on fire"))); });
    EXPECT_NE(msg.find("&Counter::Fail"), std::string::npos) << msg;
    EXPECT_NE(msg.find("disk on fire"), std::string::npos) << msg;
}

TEST_F(Host, ReportsBadCalls)
{
    py::object c = Create("Counter::FactoryCreate");
    EXPECT_NE(ErrorOf([&] { Call(c, "&Counter::Nope"); }).find("YR_INVOKE"), std::string::npos);
    EXPECT_NE(ErrorOf([&] { Call(c, "&Counter::Add"); }).find("expected 1 arguments, got 0"), std::string::npos);
    EXPECT_NE(ErrorOf([&] { Create("Nope::FactoryCreate"); }).find("not registered"), std::string::npos);
    EXPECT_NE(ErrorOf([&] { Call(c, "&Counter::Add", py::list(py::make_tuple("three"))); }).find("&Counter::Add"),
              std::string::npos);
}

TEST_F(Host, SavesAndRestoresYrState)
{
    py::object c = Create("Counter::FactoryCreate");
    Call(c, "&Counter::Add", py::list(py::make_tuple(5)));
    py::object state = host.attr("save_state")(c);
    EXPECT_EQ(py::repr(state).cast<std::string>(), "[5]");
    py::object restored = host.attr("restore_instance")(Spec("factory", "Counter::FactoryCreate"), state);
    EXPECT_EQ(Call(restored, "&Counter::Get").cast<int>(), 5);
}

int main(int argc, char **argv)
{
    ::testing::InitGoogleTest(&argc, argv);
    py::scoped_interpreter python;
    return RUN_ALL_TESTS();
}

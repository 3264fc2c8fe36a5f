// YR::KV() against the real runtime, one scenario per argv[1]; prints "PASS <scenario>" last and
// exits 0, or prints what failed and exits 1. Run by tests/sdk_cpp/test_cpp_kv.py.
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "yr/yr.h"
#include "check.h"

struct Point {
    double x = 0;
    double y = 0;
    std::vector<std::string> tags;
    YR_STATE(x, y, tags);
};

// In a worker: reads what the driver wrote and answers under another key.
std::string Echo(std::string key)
{
    std::string seen = YR::KV().Get(key, 30);
    YR::KV().Set(key + "-reply", seen + " and back");
    return seen;
}

YR_INVOKE(Echo)

namespace {

void Bytes()
{
    YR::KV().Set("cpp-a", "alpha");
    YR::KV().Set("cpp-b", std::string("be\0ta", 5));                  // any bytes, NUL included
    const char raw[] = {'\xff', '\x00', '\x01'};
    YR::KV().Set("cpp-c", raw, sizeof(raw), YR::ExistenceOpt::NONE);
    CHECK(YR::KV().Get("cpp-a") == "alpha");
    CHECK(YR::KV().Get("cpp-b") == std::string("be\0ta", 5));
    CHECK(YR::KV().Get("cpp-c") == std::string(raw, sizeof(raw)));
    std::vector<std::string> keys{"cpp-a", "cpp-b"};
    auto both = YR::KV().Get(keys, 5);
    CHECK(both.size() == 2 && both[0] == "alpha");
    std::string big(3 * 1024 * 1024 + 7, 'x');                        // several chunks
    big[12345] = 'y';
    YR::KV().Set("cpp-big", big);
    CHECK(YR::KV().Get("cpp-big") == big);
    YR::GetParams params;
    params.getParams.push_back(YR::GetParam{12345, 2});
    CHECK(YR::KV().GetWithParam({"cpp-big"}, params)[0] == "yx");
    auto failed = YR::KV().Del(std::vector<std::string>{"cpp-a", "cpp-b", "cpp-c", "cpp-big", "never"});
    CHECK(failed.empty());
    auto e = ExpectError("deleted", [] { YR::KV().Get("cpp-a", 0); });
    CHECK(e.Code() == YR::ERR_GET_OPERATION_FAILED);
}

void Params()
{
    YR::KV().Set("cpp-nx", "first");
    auto e = ExpectError("nx", [] { YR::KV().Set("cpp-nx", "second", YR::ExistenceOpt::NX); });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
    CHECK(YR::KV().Get("cpp-nx") == "first");
    YR::SetParam ttl;
    ttl.ttlSecond = 1;
    YR::KV().Set("cpp-ttl", "brief", ttl);
    CHECK(YR::KV().Get("cpp-ttl", 0) == "brief");
    bool gone = false;
    for (int i = 0; i < 100 && !gone; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        try {
            YR::KV().Get("cpp-ttl", 0);
        } catch (const YR::Exception &) {
            gone = true;
        }
    }
    CHECK(gone);
    YR::SetParam l2;
    l2.writeMode = YR::WriteMode::WRITE_THROUGH_L2_CACHE;
    e = ExpectError("l2", [&] { YR::KV().Set("cpp-l2", "v", l2); });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
    YR::KV().MSetTx({"cpp-t1", "cpp-t2"}, std::vector<std::string>{"1", "2"}, YR::ExistenceOpt::NX);
    e = ExpectError("tx", [] { YR::KV().MSetTx({"cpp-t3", "cpp-t1"}, std::vector<std::string>{"3", "x"},
                                                  YR::ExistenceOpt::NX); });
    auto partial = YR::KV().Get(std::vector<std::string>{"cpp-t1", "cpp-t3"}, 0, true);
    CHECK(partial[0] == "1" && partial[1].empty());                       // nothing of the failed tx
    e = ExpectError("tx none", [] { YR::KV().MSetTx({"x"}, std::vector<std::string>{"1"}, YR::ExistenceOpt::NONE); });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
    e = ExpectError("bad key", [] { YR::KV().Set("has space", "v"); });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
    YR::KV().Del(std::vector<std::string>{"cpp-nx", "cpp-t1", "cpp-t2"});
}

void Typed()
{
    Point p;
    p.x = 1.5;
    p.y = -2;
    p.tags = {"a", "b"};
    YR::KV().Write("cpp-point", p);
    auto back = YR::KV().Read<Point>("cpp-point");
    CHECK(back->x == 1.5 && back->y == -2 && back->tags == p.tags);
    YR::KV().Write("cpp-int", 42);
    YR::KV().MWriteTx(std::vector<std::string>{"cpp-m1", "cpp-m2"}, std::vector<int>{7, 8}, YR::MSetParam{});
    auto ints = YR::KV().Read<int>(std::vector<std::string>{"cpp-int", "cpp-m1", "cpp-m2", "cpp-none"}, 0, true);
    CHECK(*ints[0] == 42 && *ints[1] == 7 && *ints[2] == 8 && ints[3] == nullptr);
    YR::KV().Del(std::vector<std::string>{"cpp-point", "cpp-int", "cpp-m1", "cpp-m2"});
}

void Wait()
{
    std::thread writer([] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        YR::KV().Set("cpp-late", "arrived");
    });
    CHECK(YR::KV().Get("cpp-late", 60) == "arrived");                   // waits until written
    writer.join();
    auto e = ExpectError("timeout", [] { YR::KV().Get("cpp-never", 1); });
    CHECK(e.Code() == YR::ERR_GET_OPERATION_FAILED);
    YR::KV().Del("cpp-late");
}

void Worker()
{
    YR::KV().Set("cpp-echo", "hello");
    CHECK(*YR::Get(YR::Function(Echo).Invoke(std::string("cpp-echo")), 60) == "hello");
    CHECK(YR::KV().Get("cpp-echo-reply", 30) == "hello and back");
    YR::KV().Del(std::vector<std::string>{"cpp-echo", "cpp-echo-reply"});
}

void Interop()
{
    CHECK(YR::KV().Get("py-interop", 30) == "from python");
    YR::KV().Set("cpp-interop-bytes", "from c++");
    YR::KV().Write("cpp-interop-typed", std::vector<int>{1, 2, 3});
}

}  // namespace

int main(int argc, char *argv[])
{
    std::string scenario = argc > 1 ? argv[1] : "";
    YR::Init(YR::Config{}, argc, argv);
    return RunScenario(scenario, {
        {"bytes", Bytes}, {"params", Params}, {"typed", Typed}, {"wait", Wait}, {"worker", Worker},
        {"interop", Interop},
    });
}

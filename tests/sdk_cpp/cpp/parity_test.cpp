// Driver scenarios of the openYuanrong calls added for issue 13 (YR::Cancel, YR::GetInstance),
// one per argv[1]; each prints "PASS <scenario>" last and exits 0, or what failed and exits 1.
// Run by tests/sdk_cpp/test_cpp_parity.py against the real runtime.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "yr/yr.h"
#include "check.h"

// Writes `path`.started, sleeps `ms`, then writes `path`: a cancelled call never writes `path`.
int SleepThenMark(std::string path, int ms)
{
    std::ofstream(path + ".started") << getpid();
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    std::ofstream(path) << "finished";
    return ms;
}

class Counter {
public:
    static Counter *FactoryCreate()
    {
        return new Counter();
    }
    int Add(int n)
    {
        count += n;
        return count;
    }
    int count = 0;
};

YR_INVOKE(SleepThenMark, Counter::FactoryCreate, &Counter::Add)

bool Exists(const std::string &path)
{
    return access(path.c_str(), F_OK) == 0;
}

void WaitFor(const std::string &path)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!Exists(path)) {
        CHECK(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void Cancel(const std::string &dir)
{
    std::string path = dir + "/running";
    auto ref = YR::Function(SleepThenMark).Invoke(path, 60000);
    WaitFor(path + ".started");
    auto t0 = std::chrono::steady_clock::now();
    YR::Cancel(ref);
    auto e = ExpectError("cancelled", [&] { YR::Get(ref, 30); });
    CHECK(std::string(e.what()).find("cancelled") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
    // a list, and a call that never started: it never runs
    std::string queuedPath = dir + "/queued";
    std::vector<YR::ObjectRef<int>> refs{YR::Function(SleepThenMark).Invoke(dir + "/other", 0)};
    CHECK(*YR::Get(refs[0], 60) == 0);
    YR::Cancel(refs);   // finished: left alone
    CHECK(*YR::Get(refs[0], 60) == 0);
    auto empty = ExpectError("empty", [&] { YR::Cancel(std::vector<YR::ObjectRef<int>>{}); });
    CHECK(empty.Code() == YR::ERR_PARAM_INVALID);
    // instance calls are left alone (openYuanrong: no effect, no error)
    auto c = YR::Instance(Counter::FactoryCreate).Invoke();
    auto added = c.Function(&Counter::Add).Invoke(2);
    YR::Cancel(added);
    CHECK(*YR::Get(added, 60) == 2);
    c.Terminate();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    CHECK(!Exists(path));   // the cancelled call did not finish
}

void GetInstance(const std::string &)
{
    auto made = YR::Instance(Counter::FactoryCreate, "cpp-lookup", "cpp-parity").Invoke();
    CHECK(*YR::Get(made.Function(&Counter::Add).Invoke(5), 60) == 5);
    auto found = YR::GetInstance<Counter>("cpp-lookup", "cpp-parity", 30);
    CHECK(found.GetInstanceId() == made.GetInstanceId());
    CHECK(*YR::Get(found.Function(&Counter::Add).Invoke(1), 60) == 6);
    auto missing = ExpectError("missing", [&] { YR::GetInstance<Counter>("cpp-no-such", "cpp-parity", 1); });
    CHECK(missing.Code() == YR::ERR_INSTANCE_NOT_FOUND || missing.Code() == YR::ERR_GET_OPERATION_FAILED);
    CHECK(ExpectError("empty name", [&] { YR::GetInstance<Counter>(""); }).Code() == YR::ERR_PARAM_INVALID);
    CHECK(ExpectError("negative", [&] { YR::GetInstance<Counter>("x", "", -1); }).Code() == YR::ERR_PARAM_INVALID);
    made.Terminate();
}

int main(int argc, char *argv[])
{
    YR::Init(YR::Config{}, argc, argv);
    std::string scenario = argc > 1 ? argv[1] : "";
    std::string dir = argc > 2 ? argv[2] : "/tmp";
    std::map<std::string, void (*)(const std::string &)> scenarios{{"cancel", Cancel}, {"get_instance", GetInstance}};
    auto it = scenarios.find(scenario);
    if (it == scenarios.end()) {
        std::cout << "unknown scenario " << scenario << std::endl;
        return 1;
    }
    it->second(dir);
    YR::Finalize();
    std::cout << "PASS " << scenario << std::endl;
    return 0;
}

#include <memory>
#include <csignal>
#include <signal.h>
// Driver scenarios of the C++ SDK against the real runtime, one per argv[1]; each prints
// "PASS <scenario>" last and exits 0, or prints what failed and exits 1. Run by
// tests/sdk_cpp/test_cpp_api.py, which also checks that no worker outlives the driver.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "yr/yr.h"
#include "check.h"

struct Point {
    double x = 0;
    double y = 0;
    std::vector<std::string> tags;
    YR_STATE(x, y, tags);
};

class Counter {
public:
    Counter() = default;
    explicit Counter(int start) : count(start) {}
    static Counter *FactoryCreate()
    {
        return new Counter();
    }
    static Counter *FactoryCreateFrom(int start)
    {
        return new Counter(start);
    }
    static Counter *FactoryFail()
    {
        throw std::runtime_error("no counter today");
    }
    int Add(int n)
    {
        count += n;
        return count;
    }
    int Get()
    {
        return count;
    }
    int Fail(std::string msg)
    {
        throw std::runtime_error(msg);
    }
    int SleepMs(int ms)
    {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        return ms;
    }
    // True when `n` calls are inside at once (needs concurrency >= n); false after 5 s.
    bool Rendezvous(int n)
    {
        (*inside)++;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (inside->load() < n && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return inside->load() >= n;
    }
    int Die()
    {
        std::_Exit(3);
    }
    Point Describe(Point p, std::map<std::string, int> extra)
    {
        p.x += count;
        for (auto &kv : extra) {
            p.tags.push_back(kv.first + "=" + std::to_string(kv.second));
        }
        return p;
    }
    int Pid()
    {
        return static_cast<int>(getpid());
    }
    YR_STATE(count);

private:
    int count = 0;
    // Shared, so Counter stays movable: restoring from YR_STATE needs a movable class.
    std::shared_ptr<std::atomic<int>> inside = std::make_shared<std::atomic<int>>(0);
};
YR_INVOKE(Counter::FactoryCreate, Counter::FactoryCreateFrom, Counter::FactoryFail, &Counter::Add, &Counter::Get,
          &Counter::Fail, &Counter::SleepMs, &Counter::Rendezvous, &Counter::Die, &Counter::Describe, &Counter::Pid)

int Sum(std::vector<int> v)
{
    int s = 0;
    for (int x : v) {
        s += x;
    }
    return s;
}

std::unordered_map<std::string, std::vector<double>> Scale(std::unordered_map<std::string, std::vector<double>> m,
                                                           double k)
{
    for (auto &kv : m) {
        for (auto &x : kv.second) {
            x *= k;
        }
    }
    return m;
}

std::string Boom(std::string msg)
{
    throw std::invalid_argument(msg);
}

// Creates its own instance inside a worker, and uses a handle passed in.
int Nested(YR::NamedInstance<Counter> counter, int n)
{
    auto inner = YR::Instance(Counter::FactoryCreateFrom).Invoke(n);
    int own = *YR::Get(inner.Function(&Counter::Add).Invoke(1));
    inner.Terminate();
    return own + *YR::Get(counter.Function(&Counter::Get).Invoke());
}
// In a worker: IsOnCloud is true, a second Init is ignored, Finalize is refused.
int WorkerRules()
{
    if (!YR::IsOnCloud() || !YR::IsInitialized()) {
        return -1;
    }
    YR::Init(YR::Config{});
    try {
        YR::Finalize();
    } catch (const YR::Exception &e) {
        return e.Code();
    }
    return 0;
}
YR_INVOKE(Sum, Scale, Boom, Nested, WorkerRules)

// Byte strings: each returns what the worker received, transformed, so a changed byte shows.
std::string Twice(std::string s)
{
    return s + s;
}

std::vector<std::string> Reversed(std::vector<std::string> v)
{
    return std::vector<std::string>(v.rbegin(), v.rend());
}

std::map<std::string, std::string> Swapped(std::map<std::string, std::string> m)
{
    std::map<std::string, std::string> out;
    for (auto &kv : m) {
        out[kv.second] = kv.first;
    }
    return out;
}

int Length(std::string s)
{
    return static_cast<int>(s.size());
}

// An instance whose state (YR_STATE, saved after every call) is a byte string.
class Blob {
public:
    static Blob *FactoryCreate(std::string start)
    {
        auto *b = new Blob();
        b->data = std::move(start);
        return b;
    }
    std::string Append(std::string more)
    {
        data += more;
        return data;
    }
    YR_STATE(data);

private:
    std::string data;
};
YR_INVOKE(Twice, Reversed, Swapped, Length, Blob::FactoryCreate, &Blob::Append)

namespace {

// Runs fn, expects a YR::Exception, prints and returns it.
bool Contains(const std::string &s, const std::string &part)
{
    return s.find(part) != std::string::npos;
}

void Values()
{
    CHECK(*YR::Get(YR::Put(42)) == 42);
    CHECK(*YR::Get(YR::Put(std::string("hello"))) == "hello");
    CHECK(*YR::Get(YR::Put(2.5)) == 2.5);
    std::map<std::string, std::vector<int>> m{{"a", {1, 2}}, {"b", {}}};
    CHECK(*YR::Get(YR::Put(m)) == m);
    std::vector<std::map<int, std::string>> nested{{{1, "x"}}, {}};
    CHECK(*YR::Get(YR::Put(nested)) == nested);
    Point p{1, 2, {"t"}};
    auto back = YR::Get(YR::Put(p));
    CHECK(back->x == 1 && back->y == 2 && back->tags == std::vector<std::string>{"t"});
    auto ref = YR::Put(7);
    CHECK(!ref.ID().empty());
    std::vector<YR::ObjectRef<int>> refs{YR::Put(1), YR::Put(2), YR::Put(3)};
    auto all = YR::Get(refs, 30);
    CHECK(all.size() == 3 && *all[0] == 1 && *all[2] == 3);
}

// Strings that are not UTF-8 travel as bytes, UTF-8 ones as text; both must round-trip.
std::vector<std::string> ByteStrings()
{
    std::string all;
    for (int i = 0; i < 256; i++) {
        all.push_back(static_cast<char>(i));
    }
    std::string large;   // > 1 MiB: through shared memory
    while (large.size() < (3u << 20)) {
        large += all;
    }
    return {std::string("\xff\xfe\x80", 3), std::string("a\0b\0", 4), std::string("x\0\xc3", 3), std::string(),
            std::string("h\xc3\xa9llo \xe2\x82\xac"), std::string("\xed\xa0\x80", 3), all, large};
}

void Bytes()
{
    auto strings = ByteStrings();
    for (const auto &s : strings) {
        CHECK(*YR::Get(YR::Put(s), 60) == s);
        CHECK(*YR::Get(YR::Function(Twice).Invoke(s), 60) == s + s);
        CHECK(*YR::Get(YR::Function(Length).Invoke(YR::Put(s)), 60) == static_cast<int>(s.size()));
    }
    std::vector<std::string> small(strings.begin(), strings.end() - 1);
    CHECK(*YR::Get(YR::Put(small)) == small);
    CHECK(*YR::Get(YR::Function(Reversed).Invoke(small), 60) == std::vector<std::string>(small.rbegin(), small.rend()));
    std::map<std::string, std::string> m{{strings[0], strings[1]}, {strings[2], std::string("text")}, {"", strings[6]}};
    CHECK(*YR::Get(YR::Put(m)) == m);
    std::map<std::string, std::string> swapped{{strings[1], strings[0]}, {"text", strings[2]}, {strings[6], ""}};
    CHECK(*YR::Get(YR::Function(Swapped).Invoke(m), 60) == swapped);
    auto blob = YR::Instance(Blob::FactoryCreate).Invoke(strings[0]);
    std::string expect = strings[0];
    for (const auto &s : strings) {
        expect += s;
        CHECK(*YR::Get(blob.Function(&Blob::Append).Invoke(s), 60) == expect);
    }
    blob.Terminate();
}

void Functions()
{
    CHECK(*YR::Get(YR::Function(Sum).Invoke(std::vector<int>{1, 2, 3})) == 6);
    std::unordered_map<std::string, std::vector<double>> m{{"v", {1.0, 2.0}}};
    auto scaled = YR::Get(YR::Function(Scale).Invoke(m, 2));  // int 2 travels as a double
    CHECK(scaled->at("v") == (std::vector<double>{2.0, 4.0}));
    // An ObjectRef argument is resolved before the call.
    auto ref = YR::Put(std::vector<int>{4, 5});
    CHECK(*YR::Get(YR::Function(Sum).Invoke(ref)) == 9);
    YR::InvokeOptions opt;
    opt.cpu = 300;
    opt.memory = 128;
    CHECK(*YR::Get(YR::Function(Sum).Options(opt).Invoke(std::vector<int>{})) == 0);
    CHECK(*YR::Get(YR::Function(WorkerRules).Invoke()) == YR::ERR_INCORRECT_INIT_USAGE);
    // Get of a list: one failure fails the whole get, unless allowPartial.
    std::vector<YR::ObjectRef<std::string>> mixed{YR::Put(std::string("ok")),
                                                  YR::Function(Boom).Invoke(std::string("x"))};
    auto all = ExpectError("get all", [&] { YR::Get(mixed, 30); });
    CHECK(all.Code() == YR::ERR_USER_FUNCTION_EXCEPTION);
    auto partial = YR::Get(mixed, 30, true);
    CHECK(partial.size() == 2 && partial[0] && *partial[0] == "ok" && !partial[1]);
}

void Instances()
{
    auto c = YR::Instance(Counter::FactoryCreateFrom).Invoke(10);
    CHECK(!c.GetInstanceId().empty());
    auto a = c.Function(&Counter::Add).Invoke(5);
    auto g = c.Function(&Counter::Get).Invoke();
    CHECK(*YR::Get(a) == 15);
    CHECK(*YR::Get(g) == 15);
    auto d = YR::Get(c.Function(&Counter::Describe).Invoke(Point{1, 1, {}}, std::map<std::string, int>{{"k", 2}}));
    CHECK(d->x == 16 && d->tags == std::vector<std::string>{"k=2"});
    // Calls on one instance run in submission order.
    std::vector<YR::ObjectRef<int>> adds;
    for (int i = 0; i < 20; i++) {
        adds.push_back(c.Function(&Counter::Add).Invoke(1));
    }
    auto results = YR::Get(adds, 60);
    for (int i = 0; i < 20; i++) {
        CHECK(*results[i] == 16 + i);
    }
    // A handle passed to a function works there; the function creates its own instance too.
    CHECK(*YR::Get(YR::Function(Nested).Invoke(c, 100)) == 101 + 35);
    c.Terminate();
}

void Wait()
{
    auto c = YR::Instance(Counter::FactoryCreate).Invoke();
    auto fast = c.Function(&Counter::SleepMs).Invoke(0);
    YR::Wait(fast, 30);
    auto slow = YR::Instance(Counter::FactoryCreate).Invoke();
    std::vector<YR::ObjectRef<int>> refs{fast, slow.Function(&Counter::SleepMs).Invoke(20000)};
    auto result = YR::Wait(refs, 1, 10);
    CHECK(result.first.size() == 1 && result.second.size() == 1);
    CHECK(result.first[0].ID() == fast.ID());
    auto none = YR::Wait(std::vector<YR::ObjectRef<int>>{refs[1]}, 1, 1);
    CHECK(none.first.empty() && none.second.size() == 1);
    slow.Terminate();
    c.Terminate();
}

void UserException()
{
    auto c = YR::Instance(Counter::FactoryCreate).Invoke();
    auto e = ExpectError("method", [&] { YR::Get(c.Function(&Counter::Fail).Invoke(std::string("disk on fire"))); });
    CHECK(e.Code() == YR::ERR_USER_FUNCTION_EXCEPTION);
    CHECK(Contains(e.Msg(), "disk on fire"));
    CHECK(Contains(e.what(), "ErrCode: 2002"));
    // The instance survives a user exception.
    CHECK(*YR::Get(c.Function(&Counter::Add).Invoke(2)) == 2);
    auto f = ExpectError("function", [&] { YR::Get(YR::Function(Boom).Invoke(std::string("bad input"))); });
    CHECK(f.Code() == YR::ERR_USER_FUNCTION_EXCEPTION);
    CHECK(Contains(f.Msg(), "bad input"));
    // A factory that throws: the first call's Get reports the constructor's error.
    auto broken = YR::Instance(Counter::FactoryFail).Invoke();
    auto g = ExpectError("factory", [&] { YR::Get(broken.Function(&Counter::Add).Invoke(1), 30); });
    CHECK(Contains(g.Msg(), "no counter today"));
    broken.Terminate();
    c.Terminate();
}

void Timeout()
{
    auto c = YR::Instance(Counter::FactoryCreate).Invoke();
    CHECK(*YR::Get(c.Function(&Counter::SleepMs).Invoke(0), 60) == 0);  // instance is up
    auto slow = c.Function(&Counter::SleepMs).Invoke(3000);
    auto start = std::chrono::steady_clock::now();
    auto e = ExpectError("timeout", [&] { YR::Get(slow, 1); });
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(e.Code() == YR::ERR_GET_OPERATION_FAILED);
    CHECK(took < std::chrono::milliseconds(2500));
    CHECK(*YR::Get(slow, 30) == 3000);  // the call itself goes on
    auto bad = ExpectError("bad timeout", [&] { YR::Get(slow, 0); });
    CHECK(bad.Code() == YR::ERR_PARAM_INVALID);
    // A ref nobody keeps (Get's rvalue overload: the ref is released in Get's GIL section) times
    // out and fails alike, and a ref moved into Get is released by it.
    auto temp = ExpectError("temporary timeout", [&] { YR::Get(c.Function(&Counter::SleepMs).Invoke(3000), 1); });
    CHECK(temp.Code() == YR::ERR_GET_OPERATION_FAILED);
    CHECK(Contains(temp.Msg(), "not ready after 1"));
    auto badTemp = ExpectError("temporary bad timeout", [&] { YR::Get(c.Function(&Counter::SleepMs).Invoke(0), 0); });
    CHECK(badTemp.Code() == YR::ERR_PARAM_INVALID);
    auto moved = c.Function(&Counter::SleepMs).Invoke(0);
    CHECK(*YR::Get(std::move(moved), 30) == 0);
    CHECK(!moved.Raw());
    c.Terminate();
}

void Terminated()
{
    auto c = YR::Instance(Counter::FactoryCreate).Invoke();
    CHECK(*YR::Get(c.Function(&Counter::Add).Invoke(1)) == 1);
    c.Terminate();
    c.Terminate();  // idempotent
    auto e = ExpectError("after terminate", [&] { YR::Get(c.Function(&Counter::Add).Invoke(1), 30); });
    CHECK(e.Code() != 0);
}

void InstanceDied()
{
    auto c = YR::Instance(Counter::FactoryCreate).Invoke();
    CHECK(*YR::Get(c.Function(&Counter::Add).Invoke(1)) == 1);
    auto e = ExpectError("died", [&] { YR::Get(c.Function(&Counter::Die).Invoke(), 30); });
    CHECK(e.Code() == YR::ERR_INSTANCE_EXITED);
    c.Terminate();
}

void UnknownResource()
{
    YR::InvokeOptions opt;
    opt.customResources["no_such_resource"] = 1;
    auto e = ExpectError("unknown resource", [&] {
        auto c = YR::Instance(Counter::FactoryCreate).Options(opt).Invoke();
        YR::Get(c.Function(&Counter::Add).Invoke(1), 30);
    });
    CHECK(Contains(e.Msg(), "no_such_resource"));
}

void Affinity()
{
    YR::InvokeOptions labelled;
    labelled.labels = {"cpp-db"};
    labelled.AddAffinity(YR::ResourceRequiredAffinity(YR::LabelInOperator("NODE_ID", {"node-0"})));
    auto db = YR::Instance(Counter::FactoryCreate).Options(labelled).Invoke();
    CHECK(*YR::Get(db.Function(&Counter::Add).Invoke(1), 30) == 1);
    YR::InvokeOptions near;
    near.AddAffinity({YR::InstanceRequiredAffinity(YR::LabelExistsOperator("cpp-db")),
                      YR::Affinity(YR::RESOURCE, YR::PREFERRED_ANTI, {YR::LabelDoesNotExistOperator("NODE_ID")})});
    auto n = YR::Instance(Counter::FactoryCreate).Options(near).Invoke();
    CHECK(*YR::Get(n.Function(&Counter::Add).Invoke(2), 30) == 2);
    YR::InvokeOptions mars;
    mars.AddAffinity(YR::ResourceRequiredAffinity(YR::LabelInOperator("zone", {"mars"})));
    auto e = ExpectError("affinity", [&] {
        auto c = YR::Instance(Counter::FactoryCreate).Options(mars).Invoke();
        YR::Get(c.Function(&Counter::Add).Invoke(1), 30);
    });
    CHECK(e.Code() == YR::ERR_RESOURCE_NOT_ENOUGH);
    CHECK(Contains(e.Msg(), "REQUIRED RESOURCE affinity [LABEL_IN(zone, [mars])]"));
    db.Terminate();
    n.Terminate();
}

void Concurrency()
{
    YR::InvokeOptions opt;
    opt.customExtensions["Concurrency"] = "2";
    auto c = YR::Instance(Counter::FactoryCreate).Options(opt).Invoke();
    auto a = c.Function(&Counter::Rendezvous).Invoke(2);
    auto b = c.Function(&Counter::Rendezvous).Invoke(2);
    CHECK(*YR::Get(a, 30) && *YR::Get(b, 30));
    c.Terminate();
    YR::InvokeOptions bad;
    bad.customExtensions["Concurrency"] = "two";
    auto e = ExpectError("bad concurrency", [&] { YR::Instance(Counter::FactoryCreate).Options(bad).Invoke(); });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
}

void Named()
{
    auto first = YR::Instance(Counter::FactoryCreate, "cpp-named", "cpp-tests").Invoke();
    CHECK(*YR::Get(first.Function(&Counter::Add).Invoke(4)) == 4);
    auto again = YR::Instance(Counter::FactoryCreate, "cpp-named", "cpp-tests").Invoke();
    CHECK(*YR::Get(again.Function(&Counter::Add).Invoke(1)) == 5);
    CHECK(*YR::Get(first.Function(&Counter::Pid).Invoke()) == *YR::Get(again.Function(&Counter::Pid).Invoke()));
    first.Terminate();
}

void Threads()
{
    // Several driver threads share one instance and the runtime; the SDK takes the GIL per call.
    auto c = YR::Instance(Counter::FactoryCreate).Invoke();
    std::vector<std::thread> threads;
    std::atomic<int> okCount{0};
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([&] {
            for (int i = 0; i < 25; i++) {
                if (*YR::Get(c.Function(&Counter::Add).Invoke(1), 60) > 0) {
                    okCount++;
                }
            }
        });
    }
    for (auto &t : threads) {
        t.join();
    }
    CHECK(okCount.load() == 100);
    CHECK(*YR::Get(c.Function(&Counter::Get).Invoke()) == 100);
    c.Terminate();
}

void Recover()
{
    // With recoverRetryTimes the runtime restarts a dead instance; later calls reach the new
    // worker, which resumes from the state YR_STATE declares (saved after every call).
    // The worker is killed from outside: a method that kills its own worker would run again
    // on the restarted one (calls in flight at a death run at least once).
    YR::InvokeOptions opt;
    opt.recoverRetryTimes = 1;
    auto c = YR::Instance(Counter::FactoryCreateFrom).Options(opt).Invoke(7);
    CHECK(*YR::Get(c.Function(&Counter::Add).Invoke(5), 60) == 12);
    int firstPid = *YR::Get(c.Function(&Counter::Pid).Invoke(), 60);
    kill(firstPid, SIGKILL);
    int secondPid = 0;
    std::string lastError;
    for (int attempt = 0; attempt < 50 && secondPid == 0; attempt++) {
        try {
            secondPid = *YR::Get(c.Function(&Counter::Pid).Invoke(), 30);
        } catch (const YR::Exception &e) {
            lastError = e.what();
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    if (secondPid == 0) {
        std::cout << "still failing after restart: " << lastError << std::endl;
    }
    CHECK(secondPid != 0 && secondPid != firstPid);
    CHECK(*YR::Get(c.Function(&Counter::Get).Invoke()) == 12);
    c.Terminate();
}

void InitRules()
{
    // Before Init: calls are refused, Finalize throws. (Init, twice, and Finalize run in main.)
    ExpectError("before init", [] { YR::Put(1); });
    ExpectError("finalize before init", [] { YR::Finalize(); });
}

}  // namespace

int main(int argc, char *argv[])
{
    std::string scenario = argc > 1 ? argv[1] : "";
    if (scenario == "init_rules") {
        InitRules();
    }
    YR::Init(YR::Config{}, argc, argv);
    YR::Init(YR::Config{}, argc, argv);  // ignored
    CHECK(YR::IsInitialized() && !YR::IsOnCloud());
    std::map<std::string, void (*)()> scenarios{
        {"values", Values},         {"functions", Functions},     {"instances", Instances},
        {"wait", Wait},             {"user_exception", UserException}, {"timeout", Timeout},
        {"terminated", Terminated}, {"instance_died", InstanceDied},   {"unknown_resource", UnknownResource},
        {"concurrency", Concurrency}, {"named", Named},             {"init_rules", [] {}},
        {"threads", Threads},       {"recover", Recover},         {"no_finalize", [] {}},
        {"bytes", Bytes},           {"affinity", Affinity},
    };
    auto it = scenarios.find(scenario);
    if (it == scenarios.end()) {
        std::cout << "unknown scenario " << scenario << std::endl;
        return 2;
    }
    it->second();
    if (scenario == "no_finalize") {
        // Instances left alive without Finalize: the exit handler finalizes.
        auto c = YR::Instance(Counter::FactoryCreate).Invoke();
        CHECK(*YR::Get(c.Function(&Counter::Add).Invoke(1)) == 1);
        std::cout << "PASS " << scenario << std::endl;
        return 0;
    }
    YR::Finalize();
    if (scenario == "init_rules") {
        auto e = ExpectError("after finalize", [] { YR::Put(1); });
        CHECK(e.Code() == YR::ERR_FINALIZED);
    }
    std::cout << "PASS " << scenario << std::endl;
    return 0;
}

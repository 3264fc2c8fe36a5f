// Instances made by forking the executable's template (docs/architecture.md "C++ workers: a
// template per executable"), one scenario per argv[1]; prints "PASS <scenario>" at the end.
//   isolation    state per instance, distinct pids, one template parent that is this program,
//                the driver's working directory, an own bootstrap and no template variables
//   crash        an instance whose worker dies takes neither the others nor the template down
//   ctor_error   an exception in the factory reaches YR::Get; instances made after it work
//   concurrency  the Concurrency option reaches the forked worker (two calls run at once)
#include <unistd.h>

#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "yr/yr.h"

namespace {

std::string ReadLink(const std::string &path)
{
    char buf[PATH_MAX];
    ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
    return n <= 0 ? "" : std::string(buf, static_cast<std::size_t>(n));
}

std::string Env(const char *name)
{
    const char *v = std::getenv(name);
    return v == nullptr ? "<unset>" : v;
}

[[noreturn]] void Fail(const std::string &what)
{
    std::printf("FAIL %s\n", what.c_str());
    std::fflush(stdout);
    std::exit(1);
}

void Check(bool ok, const std::string &what)
{
    if (!ok) {
        Fail(what);
    }
}

}  // namespace

class Probe {
public:
    static Probe *FactoryCreate(int start)
    {
        return new Probe(start);
    }
    static Probe *FactoryFail(std::string why)
    {
        throw std::runtime_error(why);
    }
    explicit Probe(int start) : count(start) {}
    int Add(int x)
    {
        count += x;
        return count;
    }
    int Pid()
    {
        return static_cast<int>(getpid());
    }
    int ParentPid()
    {
        return static_cast<int>(getppid());
    }
    std::string Exe()
    {
        return ReadLink("/proc/self/exe");
    }
    std::string Cwd()
    {
        char buf[PATH_MAX];
        return getcwd(buf, sizeof(buf)) == nullptr ? "" : buf;
    }
    std::string Variable(std::string name)
    {
        return Env(name.c_str());
    }
    int Die(int code)
    {
        std::fflush(nullptr);
        _exit(code);
    }
    // Waits (up to 10 s) until `n` calls are inside at once; returns how many it saw.
    int Meet(int n)
    {
        std::unique_lock<std::mutex> lock(mu);
        inside++;
        cv.notify_all();
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return inside >= n; });
        return inside;
    }
    int count = 0;
    int inside = 0;
    std::mutex mu;
    std::condition_variable cv;
};
YR_INVOKE(Probe::FactoryCreate, Probe::FactoryFail, &Probe::Add, &Probe::Pid, &Probe::ParentPid, &Probe::Exe,
          &Probe::Cwd, &Probe::Variable, &Probe::Die, &Probe::Meet)

namespace {

YR::NamedInstance<Probe> NewProbe(int start)
{
    return YR::Instance(Probe::FactoryCreate).Invoke(start);
}

void Isolation()
{
    std::vector<YR::NamedInstance<Probe>> probes;
    for (int i = 0; i < 3; i++) {
        probes.push_back(NewProbe(100 * i));
    }
    std::set<int> pids, parents;
    std::set<std::string> boots;
    for (int i = 0; i < 3; i++) {
        auto &p = probes[i];
        Check(*YR::Get(p.Function(&Probe::Add).Invoke(1)) == 100 * i + 1, "first add");
        Check(*YR::Get(p.Function(&Probe::Add).Invoke(2)) == 100 * i + 3, "state is per instance");
        pids.insert(*YR::Get(p.Function(&Probe::Pid).Invoke()));
        parents.insert(*YR::Get(p.Function(&Probe::ParentPid).Invoke()));
        boots.insert(*YR::Get(p.Function(&Probe::Variable).Invoke(std::string("YR_WORKER_BOOTSTRAP"))));
        Check(*YR::Get(p.Function(&Probe::Exe).Invoke()) == ReadLink("/proc/self/exe"), "the worker runs this program");
        char cwd[PATH_MAX];
        Check(*YR::Get(p.Function(&Probe::Cwd).Invoke()) == std::string(getcwd(cwd, sizeof(cwd))),
              "the worker has the driver's working directory");
        for (const char *name : {"YR_CPP_TEMPLATE", "YR_ZYGOTE_FD", "YR_ZYGOTE_PARENT"}) {
            Check(*YR::Get(p.Function(&Probe::Variable).Invoke(std::string(name))) == "<unset>",
                  std::string(name) + " is not in a worker's environment");
        }
    }
    Check(pids.size() == 3 && pids.count(getpid()) == 0, "one process per instance");
    Check(boots.size() == 3 && boots.count("<unset>") == 0, "each worker has its own bootstrap");
    Check(parents.size() == 1, "all workers are children of one template");
    int tpl = *parents.begin();
    Check(tpl != getpid() && pids.count(tpl) == 0, "the template is neither the driver nor a worker");
    Check(ReadLink("/proc/" + std::to_string(tpl) + "/exe") == ReadLink("/proc/self/exe"),
          "the template runs this program");
    std::printf("template pid %d, workers", tpl);
    for (int pid : pids) {
        std::printf(" %d", pid);
    }
    std::printf("\n");
    for (auto &p : probes) {
        p.Terminate();
    }
}

void Crash()
{
    auto a = NewProbe(0);
    auto b = NewProbe(10);
    int tpl = *YR::Get(a.Function(&Probe::ParentPid).Invoke());
    YR::Get(b.Function(&Probe::Add).Invoke(1));
    try {
        YR::Get(a.Function(&Probe::Die).Invoke(3));
        Fail("a dying worker's call returned");
    } catch (const YR::Exception &e) {
        std::printf("died: code=%d\n", e.Code());
    }
    Check(*YR::Get(b.Function(&Probe::Add).Invoke(1)) == 12, "a sibling keeps its state");
    auto c = NewProbe(20);
    Check(*YR::Get(c.Function(&Probe::Add).Invoke(1)) == 21, "an instance made after the crash works");
    Check(*YR::Get(c.Function(&Probe::ParentPid).Invoke()) == tpl, "from the same template");
    b.Terminate();
    c.Terminate();
}

void CtorError()
{
    auto bad = YR::Instance(Probe::FactoryFail).Invoke(std::string("no probe today"));
    try {
        YR::Get(bad.Function(&Probe::Add).Invoke(1));
        Fail("a call on an instance whose factory threw returned");
    } catch (const YR::Exception &e) {
        std::printf("factory: code=%d %s\n", e.Code(), e.what());
    }
    auto good = NewProbe(5);
    Check(*YR::Get(good.Function(&Probe::Add).Invoke(1)) == 6, "an instance after a failed one works");
    good.Terminate();
}

void Concurrency()
{
    YR::InvokeOptions opts;
    opts.customExtensions["Concurrency"] = "2";
    auto p = YR::Instance(Probe::FactoryCreate).Options(opts).Invoke(0);
    auto r1 = p.Function(&Probe::Meet).Invoke(2);
    auto r2 = p.Function(&Probe::Meet).Invoke(2);
    Check(*YR::Get(r1) == 2 && *YR::Get(r2) == 2, "two calls ran at once");
    p.Terminate();
}

}  // namespace

int main(int argc, char *argv[])
{
    YR::Init(YR::Config{}, argc, argv);
    std::string scenario = argc > 1 ? argv[1] : "";
    if (scenario == "isolation") {
        Isolation();
    } else if (scenario == "crash") {
        Crash();
    } else if (scenario == "ctor_error") {
        CtorError();
    } else if (scenario == "concurrency") {
        Concurrency();
    } else {
        Fail("unknown scenario " + scenario);
    }
    YR::Finalize();
    std::printf("PASS %s\n", scenario.c_str());
    return 0;
}

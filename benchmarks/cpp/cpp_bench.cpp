// C++ SDK figures of issue 16, written the way the seed page's examples use the API
// (a fresh `c.Function(&Counter::Add).Invoke(1)` per call):
//   cpp_bench [CREATES] [CALLS] [ROUNDS]
// prints one JSON object: the first creation (it may start the executable's template),
// the median of CREATES later creations to first result, and the median over ROUNDS of
// sync method calls/s and stateless sync calls/s (CALLS calls per round), and the driver
// process's CPU time per call (all its threads; less swayed by a busy machine than rates), and
// the instance's worker process's CPU time per sync method call (from /proc), and sync method
// calls/s made from a std::thread (a thread Python did not start).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "yr/yr.h"

class Counter {
public:
    Counter() = default;
    explicit Counter(int init) : count(init) {}
    static Counter *FactoryCreate(int init)
    {
        return new Counter(init);
    }
    int Add(int x)
    {
        count += x;
        return count;
    }
    int Pid()
    {
        return static_cast<int>(getpid());
    }
    int count = 0;
};
YR_INVOKE(Counter::FactoryCreate, &Counter::Add, &Counter::Pid)

int Inc(int x)
{
    return x + 1;
}
YR_INVOKE(Inc)

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// CPU time (user + system) of this process, all threads, in microseconds.
double CpuUs()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

// CPU time (user + system) of another process, all threads, in microseconds (/proc/PID/stat).
double ProcessCpuUs(int pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));   // after "pid (comm) "
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && rest >> field; i++) {
        if (i == 14 || i == 15) {   // utime, stime
            ticks += std::stod(field);
        }
    }
    return ticks * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Creation to first result of a fresh instance, in ms; the instance is terminated after.
double CreateToFirstResult()
{
    auto t0 = Clock::now();
    auto c = YR::Instance(Counter::FactoryCreate).Invoke(1);
    int got = *YR::Get(c.Function(&Counter::Add).Invoke(1), 60);
    auto t1 = Clock::now();
    if (got != 2) {
        std::fprintf(stderr, "bad result %d\n", got);
        std::exit(1);
    }
    c.Terminate();
    return Ms(t0, t1);
}

}  // namespace

int main(int argc, char *argv[])
{
    YR::Init(YR::Config{}, argc, argv);
    int creates = argc > 1 ? std::atoi(argv[1]) : 20;
    int calls = argc > 2 ? std::atoi(argv[2]) : 5000;
    int rounds = argc > 3 ? std::atoi(argv[3]) : 5;

    double first = CreateToFirstResult();
    std::vector<double> createMs;
    for (int i = 0; i < creates; i++) {
        createMs.push_back(CreateToFirstResult());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // as benchmarks/workloads.py does
    }

    auto c = YR::Instance(Counter::FactoryCreate).Invoke(0);
    YR::Get(c.Function(&Counter::Add).Invoke(0), 60);
    YR::Get(YR::Function(Inc).Invoke(0), 60);  // the function's executor is up
    int workerPid = *YR::Get(c.Function(&Counter::Pid).Invoke(), 60);
    std::vector<double> syncRates, fnRates, syncCpu, fnCpu, workerCpu, threadRates;
    for (int r = 0; r < rounds; r++) {
        auto t0 = Clock::now();
        double c0 = CpuUs();
        double w0 = ProcessCpuUs(workerPid);
        for (int i = 0; i < calls; i++) {
            YR::Get(c.Function(&Counter::Add).Invoke(1));
        }
        auto t1 = Clock::now();
        double c1 = CpuUs();
        workerCpu.push_back((ProcessCpuUs(workerPid) - w0) / calls);
        for (int i = 0; i < calls; i++) {
            YR::Get(YR::Function(Inc).Invoke(i));
        }
        auto t2 = Clock::now();
        double c2 = CpuUs();
        syncRates.push_back(calls / (Ms(t0, t1) / 1000));
        fnRates.push_back(calls / (Ms(t1, t2) / 1000));
        syncCpu.push_back((c1 - c0) / calls);
        fnCpu.push_back((c2 - c1) / calls);
        std::thread([&] {
            auto t3 = Clock::now();
            for (int i = 0; i < calls; i++) {
                YR::Get(c.Function(&Counter::Add).Invoke(1));
            }
            threadRates.push_back(calls / (Ms(t3, Clock::now()) / 1000));
        }).join();
    }
    std::printf("{\"cpp_first_create_ms\": %.2f, \"cpp_create_to_first_result_ms\": %.2f, "
                "\"cpp_sync_calls_per_s\": %.0f, \"cpp_stateless_sync_calls_per_s\": %.0f, "
                "\"cpp_driver_cpu_us_per_sync_call\": %.1f, \"cpp_driver_cpu_us_per_stateless_call\": %.1f, "
                "\"cpp_worker_cpu_us_per_sync_call\": %.1f, \"cpp_thread_sync_calls_per_s\": %.0f, "
                "\"creates\": %d, \"calls\": %d, \"rounds\": %d}\n",
                first, Median(createMs), Median(syncRates), Median(fnRates), Median(syncCpu), Median(fnCpu),
                Median(workerCpu), Median(threadRates), creates,
                calls, rounds);
    c.Terminate();
    YR::Finalize();
    return 0;
}

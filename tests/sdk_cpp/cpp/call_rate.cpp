// C++ call rates for the benchmark script: sync (invoke + get, one at a time) and async
// (submit N, then get all) method calls on one instance, and stateless function calls.
//   call_rate [N]   prints one JSON object, e.g. {"cpp_sync_calls_per_s": 2100.0, ...}
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "yr/yr.h"

class Echo {
public:
    static Echo *FactoryCreate()
    {
        return new Echo();
    }
    int Ping(int x)
    {
        return x;
    }
};
YR_INVOKE(Echo::FactoryCreate, &Echo::Ping)

int Inc(int x)
{
    return x + 1;
}
YR_INVOKE(Inc)

template <typename Fn>
double Rate(int n, Fn &&fn)
{
    auto start = std::chrono::steady_clock::now();
    fn();
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    return n / took.count();
}

int main(int argc, char *argv[])
{
    YR::Init(YR::Config{}, argc, argv);
    int n = argc > 1 ? std::atoi(argv[1]) : 2000;
    auto echo = YR::Instance(Echo::FactoryCreate).Invoke();
    YR::Get(echo.Function(&Echo::Ping).Invoke(0), 60);  // instance ready
    YR::Get(YR::Function(Inc).Invoke(0), 60);          // function pool warm

    double sync = Rate(n, [&] {
        for (int i = 0; i < n; i++) {
            YR::Get(echo.Function(&Echo::Ping).Invoke(i));
        }
    });
    double async = Rate(n, [&] {
        std::vector<YR::ObjectRef<int>> refs;
        refs.reserve(n);
        for (int i = 0; i < n; i++) {
            refs.push_back(echo.Function(&Echo::Ping).Invoke(i));
        }
        YR::Get(refs, 300);
    });
    double fnSync = Rate(n / 4 + 1, [&] {
        for (int i = 0; i < n / 4 + 1; i++) {
            YR::Get(YR::Function(Inc).Invoke(i));
        }
    });
    std::printf("{\"cpp_sync_calls_per_s\": %.1f, \"cpp_async_calls_per_s\": %.1f, "
                "\"cpp_function_sync_calls_per_s\": %.1f, \"calls\": %d}\n",
                sync, async, fnSync, n);
    echo.Terminate();
    YR::Finalize();
    return 0;
}

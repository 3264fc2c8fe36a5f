// A program that starts a thread before YR::Init cannot be a template (a fork would copy the
// locks that thread holds): its workers are started one by one, and still work.
// Prints "parent is program: 0|1" and "PASS".
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <string>
#include <thread>

#include "yr/yr.h"

class Box {
public:
    static Box *FactoryCreate()
    {
        return new Box();
    }
    int ParentPid()
    {
        return static_cast<int>(getppid());
    }
};
YR_INVOKE(Box::FactoryCreate, &Box::ParentPid)

static std::string ReadLink(const std::string &path)
{
    char buf[PATH_MAX];
    ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
    return n <= 0 ? "" : std::string(buf, static_cast<std::size_t>(n));
}

int main(int argc, char *argv[])
{
    std::thread([] { std::this_thread::sleep_for(std::chrono::hours(1)); }).detach();
    YR::Init(YR::Config{}, argc, argv);
    auto box = YR::Instance(Box::FactoryCreate).Invoke();
    int parent = *YR::Get(box.Function(&Box::ParentPid).Invoke(), 60);
    bool fromProgram = ReadLink("/proc/" + std::to_string(parent) + "/exe") == ReadLink("/proc/self/exe");
    std::printf("parent is program: %d\n", fromProgram ? 1 : 0);
    box.Terminate();
    YR::Finalize();
    std::printf("PASS\n");
    return 0;
}

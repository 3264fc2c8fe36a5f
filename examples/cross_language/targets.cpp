// C++ targets the Python and Java examples call by name; also the C++ drivers' code.
// Build: g++ -std=c++17 targets.cpp -o targets $(yr-config --cflags --libs)
#include <cstdint>
#include <string>

#include "yr/yr.h"

int64_t Square(int64_t x) { return x * x; }

class Counter {
public:
    explicit Counter(int64_t start) : count(start) {}
    static Counter *FactoryCreate(int64_t start) { return new Counter(start); }
    int64_t Add(int64_t n) { count += n; return count; }
    int64_t count;
};

YR_INVOKE(Square, Counter::FactoryCreate, &Counter::Add)

int main(int argc, char *argv[])
{
    YR::Init(YR::Config{}, argc, argv);   // run by the runtime as a worker: serves the targets
    YR::Finalize();                       // run by hand: nothing to do
    return 0;
}

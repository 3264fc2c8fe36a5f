// C++ -> Python: run in this directory (calc.py is imported from it); prints 5 and 12.
#include <cstdint>
#include <iostream>

#include "yr/yr.h"

int main(int argc, char *argv[])
{
    YR::Init(YR::Config{}, argc, argv);
    std::cout << *YR::Get(YR::PyFunction<int64_t>("calc", "add").Invoke(int64_t(2), int64_t(3))) << std::endl;
    auto counter = YR::Instance(YR::PyInstanceClass::FactoryCreate("calc", "Counter")).Invoke(int64_t(10));
    std::cout << *YR::Get(counter.PyFunction<int64_t>("add").Invoke(int64_t(2))) << std::endl;
    counter.Terminate();
    YR::Finalize();
    return 0;
}

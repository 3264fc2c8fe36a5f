// C++ -> Java: YR_JAVA_CODE_PATH=<classes>:<yr-sdk jar>:<py4j jar> ./cpp_calls_java; prints hello yr, 12.
#include <cstdint>
#include <iostream>
#include <string>

#include "yr/yr.h"

int main(int argc, char *argv[])
{
    YR::Init(YR::Config{}, argc, argv);
    std::cout << *YR::Get(YR::JavaFunction<std::string>("com.example.Calc", "greet").Invoke("yr")) << std::endl;
    auto calc = YR::Instance(YR::JavaInstanceClass::FactoryCreate("com.example.Calc")).Invoke(int64_t(10));
    std::cout << *YR::Get(calc.JavaFunction<int64_t>("add").Invoke(int64_t(2))) << std::endl;
    calc.Terminate();
    YR::Finalize();
    return 0;
}

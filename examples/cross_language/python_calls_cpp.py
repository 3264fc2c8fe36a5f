"""Python -> C++: YR_CPP_CODE_PATH=./targets python python_calls_cpp.py  (prints 49 and 12)."""
import yr

yr.init()
print(yr.get(yr.cpp_function("Square").invoke(7)))
counter = yr.cpp_instance_class("Counter", "Counter::FactoryCreate").invoke(10)
print(yr.get(counter.Add.invoke(2)))          # C++ &Counter::Add
counter.terminate()
yr.finalize()

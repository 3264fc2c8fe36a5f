"""Python -> Java: YR_JAVA_CODE_PATH=./java-classes python python_calls_java.py  (prints hello yr, 12)."""
import yr

yr.init()
print(yr.get(yr.java_function("com.example.Calc", "greet").invoke("yr")))
calc = yr.java_instance_class("com.example.Calc").invoke(10)
print(yr.get(calc.add.invoke(2)))
calc.terminate()
yr.finalize()

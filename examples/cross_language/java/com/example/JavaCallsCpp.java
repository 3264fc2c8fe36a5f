package com.example;

import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.CppFunction;
import org.yuanrong.function.CppInstanceClass;
import org.yuanrong.function.CppInstanceMethod;

/** Java -> C++: YR_CPP_CODE_PATH=./targets java ... com.example.JavaCallsCpp; prints 49 and 12. */
public class JavaCallsCpp {
    public static void main(String[] args) throws YRException {
        YR.init();
        System.out.println(YR.get(YR.function(CppFunction.of("Square", Long.class)).invoke(7L), 60));
        InstanceHandler counter = YR.instance(CppInstanceClass.of("Counter", "Counter::FactoryCreate")).invoke(10L);
        System.out.println(YR.get(counter.function(CppInstanceMethod.of("&Counter::Add", Long.class)).invoke(2L), 60));
        counter.terminate();
        YR.Finalize();
    }
}

package com.example;

import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.PyFunction;
import org.yuanrong.function.PyInstanceClass;
import org.yuanrong.function.PyInstanceMethod;

/** Java -> Python: run in examples/cross_language (calc.py is imported from there); prints 5 and 12. */
public class JavaCallsPython {
    public static void main(String[] args) throws YRException {
        YR.init();
        System.out.println(YR.get(YR.function(PyFunction.of("calc", "add", Long.class)).invoke(2L, 3L), 60));
        InstanceHandler counter = YR.instance(PyInstanceClass.of("calc", "Counter")).invoke(10L);
        System.out.println(YR.get(counter.function(PyInstanceMethod.of("add", Long.class)).invoke(2L), 60));
        counter.terminate();
        YR.Finalize();
    }
}

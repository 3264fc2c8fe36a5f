package com.example.xlang;

import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.CppInstanceMethod;
import org.yuanrong.function.PyInstanceMethod;

/** Java functions of the cross-language matrix, called by name from Python and C++. */
public final class Targets {
    private Targets() {
    }

    /** Any portable value comes back as it came (declared Object: no conversion). */
    public static Object echo(Object x) {
        return x;
    }

    public static String fail(String message) {
        throw new IllegalStateException("java says " + message);
    }

    /** Calls a C++ Box's Add through a handle some other language passed in. */
    public static long addViaCpp(InstanceHandler box, long n) throws YRException {
        return YR.get(box.function(CppInstanceMethod.of("&Box::Add", Long.class)).invoke(n), 60);
    }

    /** Calls a Python Counter's add through a handle some other language passed in. */
    public static long addViaPython(InstanceHandler counter, long n) throws YRException {
        return YR.get(counter.function(PyInstanceMethod.of("add", Long.class)).invoke(n), 60);
    }
}

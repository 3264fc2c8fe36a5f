package com.example;

import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;

// Declare a stateless function: a static method. The Counter handle arrives usable.
public class Functions {
    public static int get(InstanceHandler counter) throws YRException {
        return YR.get(counter.function(Counter::get).invoke(), 9);
    }
}

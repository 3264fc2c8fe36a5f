package com.yrtest;

import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;

/** Stateless functions: static methods. */
public class Fns {
    public static int zero() {
        return 0;
    }

    public static int sum5(int a, int b, int c, int d, int e) {
        return a + b + c + d + e;
    }

    public static String hello(String who) {
        return "hello " + who;
    }

    public static void noop() {
    }

    public static int readCounter(InstanceHandler counter) throws YRException {
        return YR.get(counter.function(Counter::get).invoke(), 30);
    }

    public static int boom(int n) {
        throw new UnsupportedOperationException("no " + n);
    }
}

package com.example;

/** Java targets the Python and C++ examples call by name. */
public class Calc {
    private long count;

    public Calc(long start) {
        this.count = start;
    }

    public long add(long n) {
        count += n;
        return count;
    }

    public static String greet(String who) {
        return "hello " + who;
    }
}

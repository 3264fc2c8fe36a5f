package com.example.xlang;

/** A Java class of the cross-language matrix, created by name from Python and C++. */
public class Counter {
    private long count;

    public Counter(long start) {
        this.count = start;
    }

    public long add(long n) {
        count += n;
        return count;
    }

    public Object echo(Object x) {
        return x;
    }

    public String fail(String message) {
        throw new UnsupportedOperationException("java counter says " + message);
    }
}

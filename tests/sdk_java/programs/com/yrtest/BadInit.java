package com.yrtest;

/** A class whose constructor throws: the error shows at the first get of a method call. */
public class BadInit {
    public BadInit() {
        throw new IllegalStateException("cannot start: no config");
    }

    public int get() {
        return 1;
    }
}

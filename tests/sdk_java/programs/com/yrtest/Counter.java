package com.yrtest;

public class Counter {
    private int count;

    public Counter() {
        this.count = 0;
    }

    public int add(int n) {
        this.count += n;
        return this.count;
    }

    public int get() {
        return this.count;
    }
}

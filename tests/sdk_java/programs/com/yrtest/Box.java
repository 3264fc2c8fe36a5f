package com.yrtest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;

/** A stateful class exercising values, errors and handles in a worker JVM. */
public class Box {
    private final String description;

    public Box() {
        this.description = "empty";
    }

    public Box(int a, long b, double c, String d, boolean e) {
        this.description = a + "," + b + "," + c + "," + d + "," + e;
    }

    public String describe() {
        return description;
    }

    public int echoInt(int x) {
        return x;
    }

    public long echoLong(long x) {
        return x;
    }

    public double echoDouble(double x) {
        return x;
    }

    public float echoFloat(float x) {
        return x;
    }

    public boolean echoBool(boolean x) {
        return x;
    }

    public char echoChar(char x) {
        return x;
    }

    public String echoString(String x) {
        return x;
    }

    public Integer echoNull(Integer x) {
        return x;
    }

    public int[] echoInts(int[] x) {
        return x;
    }

    public String[] echoStrings(String[] x) {
        return x;
    }

    public byte[] echoBytes(byte[] x) {
        return x;
    }

    public List<String> echoList(List<String> x) {
        return new ArrayList<>(x);
    }

    public Map<String, Integer> echoMap(Map<String, Integer> x) {
        return new TreeMap<>(x);
    }

    public List<Long> longs(int n) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add((long) i);
        }
        return out;
    }

    /** Creates an empty file (a side effect a driver can see without calling YR). */
    public void touch(String path) throws java.io.IOException {
        new java.io.File(path).createNewFile();
    }

    public void fail(String message) {
        throw new IllegalArgumentException(message);
    }

    public int divide(int a, int b) {
        return a / b;
    }

    /** Kills this worker JVM the hard way. */
    public int halt(int code) {
        Runtime.getRuntime().halt(code);
        return code;
    }

    public int sleepMs(int ms) throws InterruptedException {
        Thread.sleep(ms);
        return ms;
    }

    /** Uses a handle it was given: the "beyond openYuanrong" feature. */
    public int addTo(InstanceHandler counter, int n) throws YRException {
        return YR.get(counter.function(Counter::add).invoke(n), 30);
    }

    /** Creates an instance from inside a worker and returns its handle. */
    public InstanceHandler makeCounter(int start) throws YRException {
        InstanceHandler c = YR.instance(Counter::new).invoke();
        YR.get(c.function(Counter::add).invoke(start), 30);
        return c;
    }
}

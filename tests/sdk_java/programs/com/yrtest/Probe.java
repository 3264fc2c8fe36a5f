package com.yrtest;

/** What a Java instance sees of its JVM: pid, environment, its own state (pool tests). */
public class Probe {
    private int count;

    public Probe() {
    }

    public Probe(int start) {
        if (start < 0) {
            throw new IllegalArgumentException("start must be >= 0, got " + start);
        }
        count = start;
    }

    public int add(int n) {
        count += n;
        return count;
    }

    public long pid() {
        return ProcessHandle.current().pid();
    }

    public String env(String name) {
        return String.valueOf(System.getenv(name));
    }

    /** Ends this JVM at once (a crash of the instance). */
    public int halt(int code) {
        Runtime.getRuntime().halt(code);
        return code;
    }

    public static long staticPid() {
        return ProcessHandle.current().pid();
    }
}

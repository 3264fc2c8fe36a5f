package com.yrtest;

import java.util.ArrayList;
import java.util.List;

/** A stateful class whose fields are its whole state (saved for recovery). */
public class Tally {
    private int count;
    private final List<String> log = new ArrayList<>();

    public int add(int n) {
        count += n;
        log.add("+" + n);
        return count;
    }

    public String history() {
        return count + " " + log;
    }

    /** The pid of the JVM this instance runs in. */
    public long pid() {
        return ProcessHandle.current().pid();
    }
}

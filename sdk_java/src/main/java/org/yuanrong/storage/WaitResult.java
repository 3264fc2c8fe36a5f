package org.yuanrong.storage;

import java.util.List;
import org.yuanrong.runtime.client.ObjectRef;

/** The result of {@code YR.wait}: refs that are ready (done or failed) and the rest. */
public class WaitResult {
    private final List<ObjectRef> ready;
    private final List<ObjectRef> unready;

    public WaitResult(List<ObjectRef> ready, List<ObjectRef> unready) {
        this.ready = ready;
        this.unready = unready;
    }

    public List<ObjectRef> getReady() {
        return ready;
    }

    public List<ObjectRef> getUnready() {
        return unready;
    }

    @Override
    public String toString() {
        return "WaitResult{ready=" + ready + ", unready=" + unready + "}";
    }
}

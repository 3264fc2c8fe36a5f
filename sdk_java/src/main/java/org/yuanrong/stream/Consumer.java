package org.yuanrong.stream;

import java.util.List;
import org.yuanrong.exception.YRException;

/** Receives the elements of one subscription, in order; made by {@code YR.subscribe}. */
public interface Consumer {
    /** Waits until expectNum (> 0) elements are there or timeoutMs passed; returns what there is (maybe none). */
    List<Element> receive(long expectNum, int timeoutMs) throws YRException;

    /** Waits until at least one element is there or timeoutMs passed. */
    List<Element> receive(int timeoutMs) throws YRException;

    /** Acknowledges every received element up to elementId, freeing their room in the stream. */
    void ack(long elementId) throws YRException;

    /** Acks what was received and ends the subscription. */
    void close() throws YRException;
}

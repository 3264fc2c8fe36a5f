package org.yuanrong.function;

import java.io.Serializable;

/** A serializable method reference with 4 parameter(s) returning void (see YRFunc4). */
@FunctionalInterface
public interface YRFuncVoid4<T0, T1, T2, T3> extends Serializable {
    void apply(T0 t0, T1 t1, T2 t2, T3 t3) throws Exception;
}

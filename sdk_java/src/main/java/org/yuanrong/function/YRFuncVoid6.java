package org.yuanrong.function;

import java.io.Serializable;

/** A serializable method reference with 6 parameter(s) returning void (see YRFunc6). */
@FunctionalInterface
public interface YRFuncVoid6<T0, T1, T2, T3, T4, T5> extends Serializable {
    void apply(T0 t0, T1 t1, T2 t2, T3 t3, T4 t4, T5 t5) throws Exception;
}

package org.yuanrong.function;

import java.io.Serializable;

/** A serializable method reference with 3 parameter(s) returning void (see YRFunc3). */
@FunctionalInterface
public interface YRFuncVoid3<T0, T1, T2> extends Serializable {
    void apply(T0 t0, T1 t1, T2 t2) throws Exception;
}

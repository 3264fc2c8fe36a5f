package org.yuanrong.function;

import java.io.Serializable;

/** A serializable method reference with 2 parameter(s) returning void (see YRFunc2). */
@FunctionalInterface
public interface YRFuncVoid2<T0, T1> extends Serializable {
    void apply(T0 t0, T1 t1) throws Exception;
}

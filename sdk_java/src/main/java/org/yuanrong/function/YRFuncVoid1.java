package org.yuanrong.function;

import java.io.Serializable;

/** A serializable method reference with 1 parameter(s) returning void (see YRFunc1). */
@FunctionalInterface
public interface YRFuncVoid1<T0> extends Serializable {
    void apply(T0 t0) throws Exception;
}

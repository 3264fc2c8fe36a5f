package org.yuanrong.function;

import java.io.Serializable;

/**
 * A serializable method reference with 4 parameter(s) returning a value. The SDK reads
 * its SerializedLambda to learn the class, method name and signature; it never calls it.
 */
@FunctionalInterface
public interface YRFunc4<T0, T1, T2, T3, R> extends Serializable {
    R apply(T0 t0, T1 t1, T2 t2, T3 t3) throws Exception;
}

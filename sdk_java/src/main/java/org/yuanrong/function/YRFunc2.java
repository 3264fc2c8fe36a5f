package org.yuanrong.function;

import java.io.Serializable;

/**
 * A serializable method reference with 2 parameter(s) returning a value. The SDK reads
 * its SerializedLambda to learn the class, method name and signature; it never calls it.
 */
@FunctionalInterface
public interface YRFunc2<T0, T1, R> extends Serializable {
    R apply(T0 t0, T1 t1) throws Exception;
}

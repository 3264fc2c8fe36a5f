package org.yuanrong.function;

import java.io.Serializable;

/**
 * A serializable method reference with 1 parameter(s) returning a value. The SDK reads
 * its SerializedLambda to learn the class, method name and signature; it never calls it.
 */
@FunctionalInterface
public interface YRFunc1<T0, R> extends Serializable {
    R apply(T0 t0) throws Exception;
}

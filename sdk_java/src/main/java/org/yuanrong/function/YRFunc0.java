package org.yuanrong.function;

import java.io.Serializable;

/**
 * A serializable method reference with 0 parameter(s) returning a value. The SDK reads
 * its SerializedLambda to learn the class, method name and signature; it never calls it.
 */
@FunctionalInterface
public interface YRFunc0<R> extends Serializable {
    R apply() throws Exception;
}

package org.yuanrong.function;

import java.io.Serializable;

/** A serializable method reference with 0 parameter(s) returning void (see YRFunc0). */
@FunctionalInterface
public interface YRFuncVoid0 extends Serializable {
    void apply() throws Exception;
}

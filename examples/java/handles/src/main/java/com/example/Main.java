package com.example;

import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.client.ObjectRef;

// "Passing stateful function handles" of the seed page, in Java (openYuanrong's Java SDK
// does not support it; yr does).
public class Main {
    public static void main(String[] args) throws YRException {
        YR.init();

        InstanceHandler counter = YR.instance(Counter::new).invoke();
        ObjectRef refAdd = counter.function(Counter::add).invoke(3);
        System.out.println(YR.get(refAdd, 9));

        ObjectRef refGet = YR.function(Functions::get).invoke(counter);
        // Output 3
        System.out.println(YR.get(refGet, 9));

        counter.terminate();
        YR.Finalize();
    }
}

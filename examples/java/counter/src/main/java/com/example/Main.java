// Main.java
package com.example;

import org.yuanrong.Config;
import org.yuanrong.InvokeOptions;
import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.client.ObjectRef;


public class Main {
    public static void main(String[] args) throws YRException {
        // Initialize openYuanrong runtime environment
        YR.init();
        // Create stateful function instance
        InstanceHandler counter = YR.instance(Counter::new).invoke();
        // Asynchronously (non-blocking) call stateful function methods to interact with it
        ObjectRef refAdd = counter.function(Counter::add).invoke(3);
        ObjectRef refGet = counter.function(Counter::get).invoke();

        // Synchronously (blocking) get results, output 3:3
        // You can also use YR.wait() method, which only waits for call completion without directly getting results
        System.out.println(YR.get(refAdd, 9) + ":" + YR.get(refGet, 9));
        // Destroy function instance
        counter.terminate();
        // Release openYuanrong environment resources
        YR.Finalize();
    }
}

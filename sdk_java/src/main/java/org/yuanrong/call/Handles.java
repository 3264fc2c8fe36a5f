package org.yuanrong.call;

import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Codec;
import org.yuanrong.runtime.bridge.RemoteTypes;
import org.yuanrong.runtime.client.ObjectRef;

/**
 * Internal: how {@link InstanceHandler}s and {@link ObjectRef}s cross the link (ids tagged
 * H and R by the codec). The program that starts a link (YR.init, JavaWorkerMain) passes
 * {@link #TYPES} to it: the bridge below cannot name these types itself.
 */
public enum Handles implements RemoteTypes {
    TYPES;

    @Override
    public char tagOf(Object value) {
        if (value instanceof InstanceHandler) {
            return Codec.HANDLE;
        }
        return value instanceof ObjectRef ? Codec.REF : 0;
    }

    @Override
    public String idOf(Object value) {
        return value instanceof InstanceHandler ? ((InstanceHandler) value).getId() : ((ObjectRef<?>) value).getId();
    }

    @Override
    public Object make(char tag, String id) throws YRException {
        if (tag == Codec.HANDLE) {
            return new InstanceHandler(id);
        }
        if (tag == Codec.REF) {
            return new ObjectRef<Object>(id, null);
        }
        throw new YRException(YRException.ERR_INNER_COMMUNICATION, "bad value tag " + (int) tag);
    }
}

package org.yuanrong.runtime.client;

import java.lang.reflect.Type;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Convert;
import org.yuanrong.runtime.bridge.Link;

/**
 * The future result of an invoke or a put. It can be passed to {@code YR.get},
 * {@code YR.wait}, and as an argument to other invokes (it is resolved to its value before
 * the callee runs). When the JVM drops it, the Python end releases its ref.
 *
 * @param <T> the declared return type of the method that produces it
 */
public class ObjectRef<T> {
    private final String id;
    private volatile Type type;

    /** Internal: made by the SDK from a ref id of the Python end of the link. */
    public ObjectRef(String id, Type type) {
        this.id = id;
        this.type = type;
        Link.track(this, id);
    }

    /** Internal: the link-local id of this ref (not the runtime's object id, see {@link #getObjectId()}). */
    public String getId() {
        return id;
    }

    /** The runtime's id of the object. */
    public String getObjectId() throws YRException {
        return (String) Link.require().call("ref_id", this);
    }

    /** The Java type values of this ref convert to at get (null: as decoded). */
    public Type getType() {
        return type;
    }

    /** Internal: sets the type values convert to; returns this. */
    @SuppressWarnings("unchecked")
    public <U> ObjectRef<U> withType(Type t) {
        this.type = t;
        return (ObjectRef<U>) this;
    }

    /** {@code YR.get(this, 300)}. */
    public T get() throws YRException {
        return ObjectStore.get(this, ObjectStore.DEFAULT_GET_TIMEOUT_SEC);
    }

    /** {@code YR.get(this, timeoutSec)}. */
    public T get(int timeoutSec) throws YRException {
        return ObjectStore.get(this, timeoutSec);
    }

    /** Gets the value converted to {@code cls}. */
    @SuppressWarnings("unchecked")
    public <U> U get(Class<U> cls) throws YRException {
        return (U) Convert.to(ObjectStore.get(this, ObjectStore.DEFAULT_GET_TIMEOUT_SEC), cls);
    }

    @Override
    public String toString() {
        return "ObjectRef(" + id + ")";
    }
}

package org.yuanrong.runtime.bridge;

import org.yuanrong.exception.YRException;

/**
 * The SDK's instance handles and object refs as the {@link Codec} sees them. Those types
 * ({@code InstanceHandler}, {@code ObjectRef}) live in the layers above the bridge, which
 * the bridge must not name; so the program that starts a link passes an implementation
 * ({@code org.yuanrong.call.Handles}) to {@link Link#startDriver} or {@link Link#startWorker},
 * which registers it with the codec before the first value crosses.
 */
public interface RemoteTypes {
    /** The codec tag of value: {@link Codec#HANDLE}, {@link Codec#REF}, or 0 if it is neither. */
    char tagOf(Object value);

    /** The link-local id of a value that {@link #tagOf} tagged. */
    String idOf(Object value);

    /** A new handle ({@link Codec#HANDLE}) or ref ({@link Codec#REF}) for a link-local id. */
    Object make(char tag, String id) throws YRException;
}

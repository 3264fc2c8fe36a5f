package org.yuanrong.exception;

/**
 * The one checked exception of the yr Java SDK.
 *
 * <p>{@link #getErrorCode()} is an openYuanrong error code (1001 bad parameter, 1002
 * insufficient resources, 1003 instance not found, 1006 invalid resource parameter (a custom
 * resource no node declares), 1007 instance exited, 2002 user code
 * exception, 3002 communication, 4001 bad init usage, 4005 get timeout, 9000 used after
 * finalize/terminate). For a user exception thrown in a remote Java method (code 2002),
 * {@link #getRemoteClassName()} is the class name of the original exception and the
 * message contains its class name and message.
 */
public class YRException extends Exception {
    private static final long serialVersionUID = 1L;

    // The openYuanrong error codes: the same names and numbers as yr_runtime.wire.errors.ErrorCode
    // (Python) and YR::ErrorCode (C++); tests/core/test_error_codes.py checks that they agree.
    public static final int ERR_OK = 0;
    public static final int ERR_PARAM_INVALID = 1001;
    public static final int ERR_RESOURCE_NOT_ENOUGH = 1002;
    public static final int ERR_INSTANCE_NOT_FOUND = 1003;
    public static final int ERR_RESOURCE_CONFIG_ERROR = 1006;
    public static final int ERR_INSTANCE_EXITED = 1007;
    public static final int ERR_USER_CODE_LOAD = 2001;
    public static final int ERR_USER_FUNCTION_EXCEPTION = 2002;
    public static final int ERR_INNER_COMMUNICATION = 3002;
    public static final int ERR_INNER_SYSTEM_ERROR = 3003;
    public static final int ERR_INCORRECT_INIT_USAGE = 4001;
    public static final int ERR_INIT_CONNECTION_FAILED = 4002;
    public static final int ERR_GET_OPERATION_FAILED = 4005;
    public static final int ERR_FINALIZED = 9000;

    private final int errorCode;
    private final String remoteClassName;

    public YRException(int errorCode, String message) {
        this(errorCode, message, null, null);
    }

    public YRException(int errorCode, String message, Throwable cause) {
        this(errorCode, message, null, cause);
    }

    public YRException(int errorCode, String message, String remoteClassName, Throwable cause) {
        super(message, cause);
        this.errorCode = errorCode;
        this.remoteClassName = remoteClassName;
    }

    /** The openYuanrong error code (see the class comment). */
    public int getErrorCode() {
        return errorCode;
    }

    /** The message without the code. */
    public String getErrorMessage() {
        return super.getMessage();
    }

    /**
     * The class name of the user exception thrown in a remote Java method, or null when
     * the error did not come from Java user code (or the name could not be recovered).
     */
    public String getRemoteClassName() {
        return remoteClassName;
    }

    @Override
    public String getMessage() {
        return "[" + errorCode + "] " + super.getMessage();
    }
}

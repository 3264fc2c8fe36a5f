// YR::Exception: the one error type the C++ SDK throws.
//
// what() is "ErrCode: X, ModuleCode: Y, ErrMsg: ..." as in openYuanrong. Errors raised by the
// Python runtime carry their integer `code` through; a user exception thrown in a C++ worker
// arrives as code 2002 with the original what() inside Msg().
#pragma once

#include <exception>
#include <string>

namespace YR {

// openYuanrong error codes the SDK produces or passes through: the same names and numbers as
// yr_runtime.wire.errors.ErrorCode (Python) and YRException.ERR_* (Java), checked by
// tests/core/test_error_codes.py.
enum ErrorCode : int {
    ERR_OK = 0,
    ERR_PARAM_INVALID = 1001,
    ERR_RESOURCE_NOT_ENOUGH = 1002,
    ERR_INSTANCE_NOT_FOUND = 1003,
    ERR_RESOURCE_CONFIG_ERROR = 1006,  // a custom resource no node declares
    ERR_INSTANCE_EXITED = 1007,
    ERR_USER_CODE_LOAD = 2001,
    ERR_USER_FUNCTION_EXCEPTION = 2002,
    ERR_INNER_COMMUNICATION = 3002,
    ERR_INNER_SYSTEM_ERROR = 3003,
    ERR_INCORRECT_INIT_USAGE = 4001,
    ERR_INIT_CONNECTION_FAILED = 4002,
    ERR_GET_OPERATION_FAILED = 4005,
    ERR_FINALIZED = 9000,
};

enum ModuleCode : int {
    CORE = 10,
    RUNTIME = 20,
    RUNTIME_CREATE = 21,
    RUNTIME_INVOKE = 22,
    RUNTIME_KILL = 23,
    DATASYSTEM = 30,
};

class Exception : public std::exception {
public:
    Exception() : Exception(ERR_INNER_SYSTEM_ERROR, RUNTIME, "") {}
    explicit Exception(const std::string &msg) : Exception(ERR_INNER_SYSTEM_ERROR, RUNTIME, msg) {}
    Exception(int code, const std::string &msg) : Exception(code, RUNTIME, msg) {}
    Exception(int code, int mcode, const std::string &msg)
        : code_(code),
          mcode_(mcode),
          msg_(msg),
          what_("ErrCode: " + std::to_string(code) + ", ModuleCode: " + std::to_string(mcode) +
                ", ErrMsg: " + msg)
    {
    }

    const char *what() const noexcept override
    {
        return what_.c_str();
    }
    int Code() const
    {
        return code_;
    }
    int MCode() const
    {
        return mcode_;
    }
    std::string Msg() const
    {
        return msg_;
    }

    static Exception InvalidParamException(const std::string &msg)
    {
        return Exception(ERR_PARAM_INVALID, RUNTIME, msg);
    }

private:
    int code_;
    int mcode_;
    std::string msg_;
    std::string what_;
};

}  // namespace YR

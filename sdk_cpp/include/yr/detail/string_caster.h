// std::string crosses as Python str when it is valid UTF-8 (so Python and Java callers see
// text) and as bytes otherwise, so any byte string round-trips; str and bytes both convert
// back to std::string. pybind11's own caster throws UnicodeDecodeError on invalid UTF-8.
//
// Every translation unit of libyr and of user programs must see this specialization before it
// converts a std::string (python.h and src/internal.h include it right after pybind11), else
// the two casters' inline members would clash at link time.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <string>
#include <utility>

namespace pybind11 {
namespace detail {

template <>
class type_caster<std::string> {
public:
    PYBIND11_TYPE_CASTER(std::string, const_name("str | bytes"));

    // str (as UTF-8), bytes or bytearray: pybind11's loader. A contiguous memoryview too: the
    // runtime hands a put bytes value (an ObjectRef argument) to the worker as a view.
    bool load(handle src, bool convert)
    {
        if (src && PyMemoryView_Check(src.ptr())) {
            const Py_buffer *view = PyMemoryView_GET_BUFFER(src.ptr());
            if (PyBuffer_IsContiguous(view, 'C') == 0) {
                return false;
            }
            value.assign(static_cast<const char *>(view->buf), static_cast<std::size_t>(view->len));
            return true;
        }
        string_caster<std::string> text;
        if (!text.load(src, convert)) {
            return false;
        }
        value = std::move(static_cast<std::string &>(text));
        return true;
    }

    static handle cast(const std::string &src, return_value_policy, handle)
    {
        auto size = static_cast<Py_ssize_t>(src.size());
        PyObject *text = PyUnicode_DecodeUTF8(src.data(), size, nullptr);
        if (text != nullptr) {
            return text;
        }
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            throw error_already_set();  // out of memory: not a question of encoding
        }
        PyErr_Clear();
        PyObject *raw = PyBytes_FromStringAndSize(src.data(), size);
        if (raw == nullptr) {
            throw error_already_set();
        }
        return raw;
    }
};

}  // namespace detail
}  // namespace pybind11

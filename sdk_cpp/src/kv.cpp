// YR::KV(): the KV calls of libyr, each one call of yr._bridge (kv_write, kv_read, ...).
#include "yr/kv.h"

#include "internal.h"

namespace YR {
namespace detail {

namespace {

py::list KeyList(const std::vector<std::string> &keys)
{
    py::list out;
    for (const auto &k : keys) {
        out.append(py::str(k));
    }
    return out;
}

py::dict WriteKwargs(const KVWriteArgs &a)
{
    py::dict kw;
    kw["existence"] = a.existence;
    kw["ttl"] = a.ttlSecond;
    kw["write_mode"] = a.writeMode;
    kw["cache_type"] = a.cacheType;
    return kw;
}

// bytes (or None with found) per item of a Python list.
std::vector<std::string> Strings(const py::handle &values, std::vector<bool> *found)
{
    std::vector<std::string> out;
    for (py::handle v : values) {
        if (found != nullptr) {
            found->push_back(!v.is_none());
        }
        if (v.is_none()) {
            out.emplace_back();
            continue;
        }
        char *data = nullptr;
        Py_ssize_t len = 0;
        if (PyBytes_AsStringAndSize(v.ptr(), &data, &len) != 0) {
            throw py::error_already_set();
        }
        out.emplace_back(data, static_cast<size_t>(len));
    }
    return out;
}

}  // namespace

void KVWriteBytes(const std::string &key, const char *data, std::size_t len, const KVWriteArgs &args)
{
    CheckInitialized();
    CallPython([&] { Bridge().attr("kv_write")(py::str(key), py::bytes(data, len), **WriteKwargs(args)); });
}

void KVMSetTxBytes(const std::vector<std::string> &keys, const std::vector<std::string> &values,
                   const KVWriteArgs &args)
{
    CheckInitialized();
    CallPython([&] {
        py::list vals;
        for (const auto &v : values) {
            vals.append(py::bytes(v));
        }
        Bridge().attr("kv_m_write_tx")(KeyList(keys), vals, **WriteKwargs(args));
    });
}

std::vector<std::string> KVReadBytes(const std::vector<std::string> &keys, int timeoutSec, bool allowPartial,
                                     std::vector<bool> *found)
{
    CheckInitialized();
    return CallPython([&] {
        py::object values;
        {
            values = Bridge().attr("kv_read")(KeyList(keys), timeoutSec, allowPartial);
        }
        return Strings(values, found);
    });
}

std::vector<std::string> KVGetWithParamBytes(const std::vector<std::string> &keys, const GetParams &params,
                                             int timeoutSec)
{
    CheckInitialized();
    return CallPython([&] {
        py::list offsets;
        py::list sizes;
        for (const auto &p : params.getParams) {
            offsets.append(p.offset);
            sizes.append(p.size);
        }
        return Strings(Bridge().attr("kv_get_with_param")(KeyList(keys), offsets, sizes, timeoutSec), nullptr);
    });
}

std::vector<std::string> KVDelete(const std::vector<std::string> &keys)
{
    CheckInitialized();
    return CallPython([&] {
        std::vector<std::string> failed;
        for (py::handle k : Bridge().attr("kv_del")(KeyList(keys))) {
            failed.push_back(k.cast<std::string>());
        }
        return failed;
    });
}

void KVWriteValue(const std::string &key, PyObject *value, const KVWriteArgs &args)
{
    CheckInitialized();
    CallPython([&] { Bridge().attr("kv_write_value")(py::str(key), py::handle(value), **WriteKwargs(args)); });
}

PyObject *KVReadValues(const std::vector<std::string> &keys, int timeoutSec, bool allowPartial)
{
    CheckInitialized();
    return CallPython([&] {
        return Bridge().attr("kv_read_values")(KeyList(keys), timeoutSec, allowPartial).release().ptr();
    });
}

}  // namespace detail

std::string KVManager::Pack(const detail::PyRef &list, size_t i)
{
    return detail::CallPython([&] {
        namespace py = detail::py;
        py::object packed = py::module_::import("msgpack").attr("packb")(
            py::handle(list.get())[py::int_(i)], py::arg("use_bin_type") = true);
        return packed.cast<std::string>();
    });
}

}  // namespace YR

// YR::KV(): the runtime's key-value store (openYuanrong's KVManager), shared by every driver and
// worker of the cluster. A thin layer over yr._bridge's kv_* calls; semantics in docs/kv.md.
//
//   YR::KV().Set("key", "value");              // bytes in (std::string, char*, char* + len)
//   std::string v = YR::KV().Get("key", 30);   // waits up to 30 s for a missing key
//   YR::KV().Write("point", Point{1, 2});      // a value of any convertible type (msgpack)
//   auto p = YR::KV().Read<Point>("point");
//   YR::KV().Del("key");
//
// Timeouts are in seconds, -1 waits forever; a key still missing at the timeout throws
// YR::Exception(ERR_GET_OPERATION_FAILED). Values too large, bad keys and unsupported
// parameters (WRITE_THROUGH/WRITE_BACK_L2_CACHE, CacheType::DISK) throw ERR_PARAM_INVALID.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "yr/api.h"
#include "yr/detail/python.h"
#include "yr/exception.h"

namespace YR {

// Whether a write may overwrite an existing key.
enum class ExistenceOpt : int {
    NONE = 0,  // overwrite
    NX = 1,    // refuse if the key exists
};

enum class WriteMode : int {
    NONE_L2_CACHE = 0,
    WRITE_THROUGH_L2_CACHE = 1,  // not supported by yr (no second-level cache)
    WRITE_BACK_L2_CACHE = 2,     // not supported by yr
    NONE_L2_CACHE_EVICT = 3,
};

enum class CacheType : int {
    MEMORY = 0,
    DISK = 1,  // not supported by yr
};

struct SetParam {
    WriteMode writeMode = WriteMode::NONE_L2_CACHE;
    uint32_t ttlSecond = 0;  // 0: the key lives until deleted
    ExistenceOpt existence = ExistenceOpt::NONE;
    std::string traceId;
};

struct SetParamV2 {
    WriteMode writeMode = WriteMode::NONE_L2_CACHE;
    uint32_t ttlSecond = 0;
    ExistenceOpt existence = ExistenceOpt::NONE;
    std::string traceId;
    CacheType cacheType = CacheType::MEMORY;
};

struct MSetParam {
    WriteMode writeMode = WriteMode::NONE_L2_CACHE;
    uint32_t ttlSecond = 0;
    ExistenceOpt existence = ExistenceOpt::NX;  // the only one accepted
    CacheType cacheType = CacheType::MEMORY;
};

struct DelParam {
    std::string traceId;
};

// size bytes of a value from offset (size 0: to the end).
struct GetParam {
    uint64_t offset = 0;
    uint64_t size = 0;
};

struct GetParams {
    std::vector<GetParam> getParams;
    std::string traceId;
};

namespace detail {

// libyr (src/kv.cpp): each takes the GIL and turns Python errors into YR::Exception.
struct KVWriteArgs {
    int existence = 0;
    uint32_t ttlSecond = 0;
    int writeMode = 0;
    int cacheType = 0;
};
void KVWriteBytes(const std::string &key, const char *data, std::size_t len, const KVWriteArgs &args);
void KVMSetTxBytes(const std::vector<std::string> &keys, const std::vector<std::string> &values,
                   const KVWriteArgs &args);
// Values of keys; with allowPartial a missing key gives "" and found[i] = false.
std::vector<std::string> KVReadBytes(const std::vector<std::string> &keys, int timeoutSec, bool allowPartial,
                                     std::vector<bool> *found);
std::vector<std::string> KVGetWithParamBytes(const std::vector<std::string> &keys, const GetParams &params,
                                             int timeoutSec);
std::vector<std::string> KVDelete(const std::vector<std::string> &keys);
// Write<T>/Read<T>: a converted value, stored as msgpack by the bridge. Read returns a Python
// list of values (None for a missing key with allowPartial), a new reference.
void KVWriteValue(const std::string &key, PyObject *value, const KVWriteArgs &args);
PyObject *KVReadValues(const std::vector<std::string> &keys, int timeoutSec, bool allowPartial);

inline KVWriteArgs Args(ExistenceOpt e, uint32_t ttl = 0, WriteMode m = WriteMode::NONE_L2_CACHE,
                        CacheType c = CacheType::MEMORY)
{
    return KVWriteArgs{static_cast<int>(e), ttl, static_cast<int>(m), static_cast<int>(c)};
}

inline void CheckValue(const void *value)
{
    if (value == nullptr) {
        throw Exception::InvalidParamException("KV Set value is nullptr");
    }
}

template <typename T>
PyRef ToPython(const T &value)
{
    return WithGil([&] { return PyRef::Steal(py::cast(value).release().ptr()); });
}

}  // namespace detail

class KVManager {
public:
    static KVManager &Singleton() noexcept
    {
        static KVManager kvManager;
        return kvManager;
    }

    // ---- bytes ----
    static void Set(const std::string &key, const char *value, ExistenceOpt existence = ExistenceOpt::NONE)
    {
        detail::CheckValue(value);
        detail::KVWriteBytes(key, value, std::strlen(value), detail::Args(existence));
    }
    static void Set(const std::string &key, const char *value, size_t len, ExistenceOpt existence = ExistenceOpt::NONE)
    {
        detail::CheckValue(value);
        detail::KVWriteBytes(key, value, len, detail::Args(existence));
    }
    static void Set(const std::string &key, const std::string &value, ExistenceOpt existence = ExistenceOpt::NONE)
    {
        detail::KVWriteBytes(key, value.data(), value.size(), detail::Args(existence));
    }
    static void Set(const std::string &key, const char *value, SetParam p)
    {
        detail::CheckValue(value);
        detail::KVWriteBytes(key, value, std::strlen(value), detail::Args(p.existence, p.ttlSecond, p.writeMode));
    }
    static void Set(const std::string &key, const char *value, size_t len, SetParam p)
    {
        detail::CheckValue(value);
        detail::KVWriteBytes(key, value, len, detail::Args(p.existence, p.ttlSecond, p.writeMode));
    }
    static void Set(const std::string &key, const std::string &value, SetParam p)
    {
        detail::KVWriteBytes(key, value.data(), value.size(), detail::Args(p.existence, p.ttlSecond, p.writeMode));
    }
    static void Set(const std::string &key, const std::string &value, SetParamV2 p)
    {
        detail::KVWriteBytes(key, value.data(), value.size(),
                             detail::Args(p.existence, p.ttlSecond, p.writeMode, p.cacheType));
    }
    static void Set(const std::string &key, const char *value, size_t len, SetParamV2 p)
    {
        detail::CheckValue(value);
        detail::KVWriteBytes(key, value, len, detail::Args(p.existence, p.ttlSecond, p.writeMode, p.cacheType));
    }

    // Every key or none; existence must be NX.
    static void MSetTx(const std::vector<std::string> &keys, const std::vector<std::string> &vals,
                       const MSetParam &p)
    {
        CheckMSet(keys.size(), vals.size(), p.existence);
        detail::KVMSetTxBytes(keys, vals, detail::Args(p.existence, p.ttlSecond, p.writeMode, p.cacheType));
    }
    static void MSetTx(const std::vector<std::string> &keys, const std::vector<std::string> &vals,
                       ExistenceOpt existence)
    {
        MSetParam p;
        p.existence = existence;
        MSetTx(keys, vals, p);
    }

    // The value of key (waits up to timeoutSec for it; -1: forever).
    static std::string Get(const std::string &key, int timeoutSec = DEFAULT_GET_TIMEOUT_SEC)
    {
        return detail::KVReadBytes({key}, timeoutSec, false, nullptr).at(0);
    }
    // The values of keys; with allowPartial a key still missing at the timeout gives "".
    static std::vector<std::string> Get(const std::vector<std::string> &keys, int timeoutSec = DEFAULT_GET_TIMEOUT_SEC,
                                        bool allowPartial = false)
    {
        if (keys.empty()) {
            throw Exception::InvalidParamException("KVGet does not accept empty key list");
        }
        return detail::KVReadBytes(keys, timeoutSec, allowPartial, nullptr);
    }
    static std::vector<std::string> GetWithParam(const std::vector<std::string> &keys, const GetParams &params,
                                                 int timeoutSec = DEFAULT_GET_TIMEOUT_SEC)
    {
        if (params.getParams.empty()) {
            throw Exception::InvalidParamException("Get params does not accept empty key list");
        }
        if (params.getParams.size() != keys.size()) {
            throw Exception::InvalidParamException("Get params size is not equal to keys size");
        }
        return detail::KVGetWithParamBytes(keys, params, timeoutSec);
    }

    // ---- typed values (msgpack of the converted value) ----
    template <typename T>
    static void Write(const std::string &key, const T &value, ExistenceOpt existence = ExistenceOpt::NONE)
    {
        detail::KVWriteValue(key, detail::ToPython(value).get(), detail::Args(existence));
    }
    template <typename T>
    static void Write(const std::string &key, const T &value, SetParam p)
    {
        detail::KVWriteValue(key, detail::ToPython(value).get(), detail::Args(p.existence, p.ttlSecond, p.writeMode));
    }
    template <typename T>
    static void MWriteTx(const std::vector<std::string> &keys, const std::vector<T> &vals, const MSetParam &p)
    {
        CheckMSet(keys.size(), vals.size(), p.existence);
        std::vector<std::string> packed;   // written one by one would not be a transaction: pack here
        detail::PyRef all = detail::ToPython(vals);
        for (size_t i = 0; i < keys.size(); i++) {
            packed.push_back(Pack(all, i));
        }
        detail::KVMSetTxBytes(keys, packed, detail::Args(p.existence, p.ttlSecond, p.writeMode, p.cacheType));
    }
    template <typename T>
    static std::shared_ptr<T> Read(const std::string &key, int timeoutSec = DEFAULT_GET_TIMEOUT_SEC)
    {
        return Read<T>(std::vector<std::string>{key}, timeoutSec, false).at(0);
    }
    // With allowPartial a key still missing at the timeout gives nullptr.
    template <typename T>
    static std::vector<std::shared_ptr<T>> Read(const std::vector<std::string> &keys,
                                                int timeoutSec = DEFAULT_GET_TIMEOUT_SEC, bool allowPartial = false)
    {
        if (keys.empty()) {
            throw Exception::InvalidParamException("KVRead does not accept empty key list");
        }
        detail::PyRef values = detail::PyRef::Steal(detail::KVReadValues(keys, timeoutSec, allowPartial));
        return detail::WithGil([&] {
            std::vector<std::shared_ptr<T>> out;
            for (detail::py::handle v : detail::py::handle(values.get())) {
                out.push_back(v.is_none() ? nullptr : detail::ToShared<T>(v.ptr()));
            }
            return out;
        });
    }

    // ---- delete (a missing key is no error) ----
    static void Del(const std::string &key, const DelParam & = {})
    {
        detail::KVDelete({key});
    }
    // Returns the keys that failed to be deleted.
    static std::vector<std::string> Del(const std::vector<std::string> &keys, const DelParam & = {})
    {
        return detail::KVDelete(keys);
    }

private:
    static void CheckMSet(size_t keys, size_t vals, ExistenceOpt existence)
    {
        if (keys != vals) {
            throw Exception::InvalidParamException("arguments vector size not equal. keys size is: " +
                                                   std::to_string(keys) + ", vals size is: " + std::to_string(vals));
        }
        if (existence != ExistenceOpt::NX) {
            throw Exception::InvalidParamException("ExistenceOpt should be NX.");
        }
    }
    static std::string Pack(const detail::PyRef &list, size_t i);
};

// The KV store: YR::KV().Set(...), Get, Write, Read, Del, MSetTx, GetWithParam.
inline KVManager &KV()
{
    return KVManager::Singleton();
}

}  // namespace YR

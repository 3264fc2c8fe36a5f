// YR::CreateProducer / YR::Subscribe: each call one call of yr._bridge (stream_send, stream_receive, ...),
// the producer or consumer kept in the process's Python runtime under the id these objects hold.
#include "yr/stream.h"

#include <atomic>
#include <deque>
#include <mutex>

#include "internal.h"
#include "yr/api.h"

namespace YR {

namespace {

namespace py = detail::py;
using detail::Bridge;
using detail::CallPython;

Exception Closed(const char *what, const std::string &stream)
{
    return Exception(ERR_FINALIZED, RUNTIME, std::string("the ") + what + " of stream '" + stream + "' is closed");
}

py::dict StringMap(const std::unordered_map<std::string, std::string> &m)
{
    py::dict d;
    for (const auto &kv : m) {
        d[py::str(kv.first)] = py::str(kv.second);
    }
    return d;
}

py::dict ConfigDict(const ProducerConf &c)
{
    py::dict d;
    d["delay_flush_time"] = c.delayFlushTime;
    d["page_size"] = c.pageSize;
    d["max_stream_size"] = c.maxStreamSize;
    d["auto_clean_up"] = c.autoCleanup;
    d["encrypt_stream"] = c.encryptStream;
    d["retain_for_num_consumers"] = c.retainForNumConsumers;
    d["reserve_size"] = c.reserveSize;
    d["extend_config"] = StringMap(c.extendConfig);
    return d;
}

// Closes the endpoint when its owner forgets to (best effort: not after Finalize, errors dropped).
void CloseQuietly(const std::string &key)
{
    if (!IsInitialized()) {
        return;
    }
    try {
        CallPython([&] { Bridge().attr("stream_close")(py::str(key)); });
    } catch (...) {  // a destructor must not throw
    }
}

class ProducerImpl : public Producer {
public:
    ProducerImpl(std::string stream, std::string key) : stream_(std::move(stream)), key_(std::move(key)) {}
    ~ProducerImpl() override
    {
        if (!closed_.exchange(true)) {
            CloseQuietly(key_);
        }
    }
    void Send(const Element &element) override
    {
        Send(element, -1);
    }
    void Send(const Element &element, int64_t timeoutMs) override
    {
        CheckOpen();
        if (element.ptr == nullptr && element.size != 0) {
            throw Exception(ERR_PARAM_INVALID, RUNTIME, "Send: the element has size " + std::to_string(element.size) +
                                                            " but no data (ptr is null)");
        }
        CallPython([&] {
            py::bytes data(reinterpret_cast<const char *>(element.ptr), element.size);
            Bridge().attr("stream_send")(py::str(key_), data, timeoutMs);
        });
    }
    void Flush() override
    {
        CheckOpen();
        CallPython([&] { Bridge().attr("stream_flush")(py::str(key_)); });
    }
    void Close() override
    {
        if (!closed_.exchange(true)) {
            detail::CheckInitialized();
            CallPython([&] { Bridge().attr("stream_close")(py::str(key_)); });
        }
    }

private:
    void CheckOpen() const
    {
        if (closed_) {
            throw Closed("producer", stream_);
        }
        detail::CheckInitialized();
    }
    const std::string stream_;
    const std::string key_;
    std::atomic<bool> closed_{false};
};

class ConsumerImpl : public Consumer {
public:
    ConsumerImpl(std::string stream, std::string key, bool autoAck)
        : stream_(std::move(stream)), key_(std::move(key)), autoAck_(autoAck)
    {
    }
    ~ConsumerImpl() override
    {
        if (!closed_.exchange(true)) {
            CloseQuietly(key_);
        }
    }
    void Receive(uint32_t expectNum, uint32_t timeoutMs, std::vector<Element> &outElements) override
    {
        if (expectNum == 0) {
            throw Exception(ERR_PARAM_INVALID, RUNTIME, "Receive: expectNum must be > 0");
        }
        Fetch(expectNum, timeoutMs, outElements);
    }
    void Receive(uint32_t timeoutMs, std::vector<Element> &outElements) override
    {
        Fetch(0, timeoutMs, outElements);
    }
    void Ack(uint64_t elementId) override
    {
        CheckOpen();
        CallPython([&] { Bridge().attr("stream_ack")(py::str(key_), elementId); });
        std::lock_guard<std::mutex> lock(mu_);
        while (!held_.empty() && held_.front().first <= elementId) {
            held_.pop_front();
        }
    }
    void Close() override
    {
        if (!closed_.exchange(true)) {
            detail::CheckInitialized();
            CallPython([&] { Bridge().attr("stream_close")(py::str(key_)); });
            std::lock_guard<std::mutex> lock(mu_);
            held_.clear();
        }
    }

private:
    void CheckOpen() const
    {
        if (closed_) {
            throw Closed("consumer", stream_);
        }
        detail::CheckInitialized();
    }
    // The elements of one receive replace outElements; their bytes stay in held_ until acked.
    void Fetch(uint32_t expectNum, uint32_t timeoutMs, std::vector<Element> &out)
    {
        CheckOpen();
        std::vector<std::pair<uint64_t, std::string>> got = CallPython([&] {
            py::object answer = Bridge().attr("stream_receive")(py::str(key_), expectNum, timeoutMs);
            py::list ids = answer[py::int_(0)];
            py::list datas = answer[py::int_(1)];
            std::vector<std::pair<uint64_t, std::string>> items;
            items.reserve(ids.size());
            for (size_t i = 0; i < ids.size(); i++) {
                items.emplace_back(ids[i].cast<uint64_t>(), datas[i].cast<std::string>());
            }
            return items;
        });
        std::lock_guard<std::mutex> lock(mu_);
        if (autoAck_) {
            held_.clear();  // the bridge acked the previous receive's elements before this one
        }
        out.clear();
        for (auto &item : got) {
            held_.push_back(std::move(item));  // a deque: pushing at the end moves no element
            auto &data = held_.back().second;
            out.emplace_back(reinterpret_cast<uint8_t *>(data.data()), data.size(), held_.back().first);
        }
    }
    const std::string stream_;
    const std::string key_;
    const bool autoAck_;
    std::atomic<bool> closed_{false};
    std::mutex mu_;
    std::deque<std::pair<uint64_t, std::string>> held_;  // received, not acked: (id, data), by id
};

}  // namespace

std::shared_ptr<Producer> CreateProducer(const std::string &streamName, ProducerConf producerConf)
{
    detail::CheckInitialized();
    std::string key = CallPython([&] {
        return Bridge().attr("stream_create_producer")(py::str(streamName), ConfigDict(producerConf)).cast<std::string>();
    });
    return std::make_shared<ProducerImpl>(streamName, std::move(key));
}

std::shared_ptr<Consumer> Subscribe(const std::string &streamName, const SubscriptionConfig &config, bool autoAck)
{
    detail::CheckInitialized();
    std::string key = CallPython([&] {
        return Bridge()
            .attr("stream_subscribe")(py::str(streamName), py::str(config.subscriptionName),
                                      static_cast<int>(config.subscriptionType), autoAck, StringMap(config.extendConfig))
            .cast<std::string>();
    });
    return std::make_shared<ConsumerImpl>(streamName, std::move(key), autoAck);
}

void DeleteStream(const std::string &streamName)
{
    detail::CheckInitialized();
    CallPython([&] { Bridge().attr("stream_delete")(py::str(streamName)); });
}

namespace {
uint64_t Count(const std::string &streamName, int which)
{
    detail::CheckInitialized();
    return CallPython([&] {
        return Bridge().attr("stream_counts")(py::str(streamName))[py::int_(which)].cast<uint64_t>();
    });
}
}  // namespace

uint64_t QueryGlobalProducersNum(const std::string &streamName)
{
    return Count(streamName, 0);
}

uint64_t QueryGlobalConsumersNum(const std::string &streamName)
{
    return Count(streamName, 1);
}

}  // namespace YR

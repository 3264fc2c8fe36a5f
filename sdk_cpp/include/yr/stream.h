// Streams (openYuanrong's YR::CreateProducer / YR::Subscribe / YR::DeleteStream): producers in
// any process send elements; every subscription receives all of them, in order. The stream
// lives in the runtime's master, bounded by maxStreamSize: a producer whose stream is full
// waits for consumers to ack (back-pressure). Semantics: docs/kv.md "Streams".
//
//   auto producer = YR::CreateProducer("s", YR::ProducerConf{});
//   producer->Send(YR::Element(data, size));        // buffered; Flush() or delayFlushTime sends
//   producer->Close();                              // flushes, waiting for room
//   auto consumer = YR::Subscribe("s", YR::SubscriptionConfig("sub", YR::SubscriptionType::STREAM));
//   std::vector<YR::Element> got;
//   consumer->Receive(10, 1000, got);               // up to 10 elements within 1000 ms
//   consumer->Ack(got.back().id);
//
// A received Element's ptr stays valid until that element is acked (by Ack, by the next
// Receive with autoAck, or at Close) or the consumer is destroyed. Errors are YR::Exception:
// ERR_PARAM_INVALID for bad configs, ERR_GET_OPERATION_FAILED for a send whose stream stayed
// full for timeoutMs, ERR_FINALIZED for a closed producer or consumer.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace YR {

enum SubscriptionType { STREAM, ROUND_ROBIN, KEY_PARTITIONS };  // only STREAM is supported

struct Element {
    Element(uint8_t *ptr = nullptr, uint64_t size = 0, uint64_t id = ULONG_MAX) : ptr(ptr), size(size), id(id) {}
    uint8_t *ptr;  // the data (on receive: owned by the consumer until acked)
    uint64_t size;
    uint64_t id;  // the stream's number on receive; ignored on send
};

struct ProducerConf {
    int64_t delayFlushTime = 5;                      // ms after a send; 0: at once; < 0: never by time
    int64_t pageSize = 1024 * 1024ul;                // the buffer, a multiple of 4 KiB, at most 16 MiB
    uint64_t maxStreamSize = 100 * 1024 * 1024ul;    // bytes the stream holds unacked, >= 64 KiB
    bool autoCleanup = false;                        // delete the stream when its last user closes
    bool encryptStream = false;                      // not supported (refused if true)
    uint64_t retainForNumConsumers = 0;              // keep elements sent before the first N subscriptions
    uint64_t reserveSize = 0;                        // checked; nothing is reserved ahead
    std::unordered_map<std::string, std::string> extendConfig;  // not supported (refused if not empty)
    std::string traceId;                             // accepted, unused
};

struct SubscriptionConfig {
    std::string subscriptionName;
    SubscriptionType subscriptionType = SubscriptionType::STREAM;
    std::unordered_map<std::string, std::string> extendConfig;  // not supported (refused if not empty)
    std::string traceId;                                        // accepted, unused

    SubscriptionConfig(std::string subName, const SubscriptionType subType)
        : subscriptionName(std::move(subName)), subscriptionType(subType)
    {
    }
    SubscriptionConfig() = default;
    bool operator==(const SubscriptionConfig &config) const
    {
        return subscriptionName == config.subscriptionName && subscriptionType == config.subscriptionType;
    }
    bool operator!=(const SubscriptionConfig &config) const
    {
        return !(*this == config);
    }
};

class Producer {
public:
    virtual ~Producer() = default;
    // Buffers the element; a flush it needs waits until there is room in the stream.
    virtual void Send(const Element &element) = 0;
    // Same, waiting at most timeoutMs for room (then ERR_GET_OPERATION_FAILED; the element is not sent).
    virtual void Send(const Element &element, int64_t timeoutMs) = 0;
    // Sends what is buffered now (yr's addition, as openYuanrong's Java flush()).
    virtual void Flush() = 0;
    // Flushes, then closes; closing twice is no error, any other use after it is.
    virtual void Close() = 0;
};

class Consumer {
public:
    virtual ~Consumer() = default;
    // Waits until expectNum elements are there or timeoutMs passed; appends them (maybe none).
    virtual void Receive(uint32_t expectNum, uint32_t timeoutMs, std::vector<Element> &outElements) = 0;
    // Waits until at least one element is there or timeoutMs passed.
    virtual void Receive(uint32_t timeoutMs, std::vector<Element> &outElements) = 0;
    // Frees every received element up to elementId (their room in the stream and their data here).
    virtual void Ack(uint64_t elementId) = 0;
    virtual void Close() = 0;
};

// A producer of the stream, created if it does not exist.
std::shared_ptr<Producer> CreateProducer(const std::string &streamName, ProducerConf producerConf = {});

// A consumer through the subscription config.subscriptionName. With autoAck, each Receive first
// acks what the previous one returned (its elements' data is freed then).
std::shared_ptr<Consumer> Subscribe(const std::string &streamName, const SubscriptionConfig &config,
                                    bool autoAck = false);

// Deletes the stream; refused (ERR_PARAM_INVALID) while it has producers or consumers.
void DeleteStream(const std::string &streamName);

// How many producers / consumers the stream has in all processes (as Python's
// query_global_producers_num / query_global_consumers_num; yr's addition in C++).
uint64_t QueryGlobalProducersNum(const std::string &streamName);
uint64_t QueryGlobalConsumersNum(const std::string &streamName);

}  // namespace YR

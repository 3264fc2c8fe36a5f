// YR::CreateProducer / YR::Subscribe against the real runtime, one scenario per argv[1]; prints
// "PASS <scenario>" last and exits 0, or prints what failed and exits 1. Run by
// tests/sdk_cpp/test_cpp_stream.py (which also plays the Python side of the cross-language runs).
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "yr/yr.h"
#include "check.h"

namespace {

std::string Str(const YR::Element &e)
{
    return std::string(reinterpret_cast<const char *>(e.ptr), e.size);
}

void SendStr(YR::Producer &p, const std::string &s)
{
    p.Send(YR::Element(reinterpret_cast<uint8_t *>(const_cast<char *>(s.data())), s.size()));
}

// The i-th element of a run: its number first, then i % 7 filler bytes (sizes differ).
std::string Item(int i)
{
    return "item-" + std::to_string(i) + std::string(i % 7, static_cast<char>('a' + i % 26));
}

// Receives until n elements arrived (each Receive bounded), acking as it goes; the data as strings.
std::vector<std::string> ReceiveAll(YR::Consumer &c, size_t n)
{
    std::vector<std::string> out;
    for (int tries = 0; out.size() < n && tries < 600; tries++) {
        std::vector<YR::Element> got;
        c.Receive(static_cast<uint32_t>(n - out.size()), 1000, got);
        for (auto &e : got) {
            out.push_back(Str(e));
        }
        if (!got.empty()) {
            c.Ack(got.back().id);
        }
    }
    return out;
}

}  // namespace

// In a stateless C++ worker: sends n elements, then closes (flushing).
int Produce(std::string stream, int n)
{
    auto p = YR::CreateProducer(stream, YR::ProducerConf{});
    for (int i = 0; i < n; i++) {
        SendStr(*p, Item(i));
    }
    p->Close();
    return n;
}

// An instance that subscribes at creation and counts what it receives in order.
class Collector {
public:
    Collector() = default;
    static Collector *FactoryCreate(std::string stream)
    {
        auto *c = new Collector();
        c->consumer_ = YR::Subscribe(stream, YR::SubscriptionConfig("in-instance", YR::SubscriptionType::STREAM), true);
        return c;
    }
    // Receives n elements; "ok" if they are Item(0..n-1) in order, else what differed.
    std::string Collect(int n)
    {
        std::vector<std::string> got;
        for (int tries = 0; static_cast<int>(got.size()) < n && tries < 600; tries++) {
            std::vector<YR::Element> batch;
            consumer_->Receive(1000, batch);  // autoAck: the previous batch is acked now
            for (auto &e : batch) {
                got.push_back(Str(e));
            }
        }
        for (int i = 0; i < n; i++) {
            if (i >= static_cast<int>(got.size()) || got[i] != Item(i)) {
                return "element " + std::to_string(i) + " differs (" + std::to_string(got.size()) + " received)";
            }
        }
        consumer_->Close();
        return "ok";
    }
    int placeholder = 0;
    YR_STATE(placeholder);

private:
    std::shared_ptr<YR::Consumer> consumer_;
};

YR_INVOKE(Produce, Collector::FactoryCreate, &Collector::Collect)

namespace {

// Two subscriptions each receive 2000 elements of mixed sizes, in order, through a small stream.
void Order()
{
    YR::ProducerConf conf;
    conf.maxStreamSize = 64 * 1024;  // back-pressure: the producer waits for the consumers' acks
    conf.pageSize = 4096;
    auto a = YR::Subscribe("cpp-order", YR::SubscriptionConfig("a", YR::SubscriptionType::STREAM));
    auto b = YR::Subscribe("cpp-order", YR::SubscriptionConfig("b", YR::SubscriptionType::STREAM));
    auto p = YR::CreateProducer("cpp-order", conf);
    CHECK(YR::QueryGlobalProducersNum("cpp-order") == 1 && YR::QueryGlobalConsumersNum("cpp-order") == 2);
    const int n = 2000;
    std::thread sender([&] {
        for (int i = 0; i < n; i++) {
            SendStr(*p, Item(i));
        }
        p->Flush();
    });
    std::vector<std::string> gotB;
    std::thread other([&] { gotB = ReceiveAll(*b, n); });
    auto gotA = ReceiveAll(*a, n);
    sender.join();
    other.join();
    CHECK(gotA.size() == n && gotB.size() == n);
    for (int i = 0; i < n; i++) {
        CHECK(gotA[i] == Item(i) && gotB[i] == Item(i));
    }
    p->Close();
    a->Close();
    b->Close();
    CHECK(YR::QueryGlobalProducersNum("cpp-order") == 0 && YR::QueryGlobalConsumersNum("cpp-order") == 0);
    YR::DeleteStream("cpp-order");
}

// Elements of 5 MiB (larger than a page: each goes alone) and of 0 bytes arrive whole.
void Large()
{
    auto c = YR::Subscribe("cpp-large", YR::SubscriptionConfig("big", YR::SubscriptionType::STREAM));
    auto p = YR::CreateProducer("cpp-large");
    std::string big(5 * 1024 * 1024 + 3, 'z');
    big[777] = 'q';
    SendStr(*p, big);
    SendStr(*p, "");
    SendStr(*p, big);
    p->Flush();
    std::vector<YR::Element> got;  // an answer carries at most 8 MiB (or one element): several receives
    for (int tries = 0; got.size() < 3 && tries < 60; tries++) {
        std::vector<YR::Element> more;
        c->Receive(static_cast<uint32_t>(3 - got.size()), 1000, more);
        got.insert(got.end(), more.begin(), more.end());  // unacked: their data stays valid
    }
    CHECK(got.size() == 3);
    CHECK(Str(got[0]) == big && got[1].size == 0 && Str(got[2]) == big);
    CHECK(got[0].id < got[1].id && got[1].id < got[2].id);
    c->Ack(got[2].id);
    p->Close();
    c->Close();
    YR::DeleteStream("cpp-large");
}

// Receive returns at its timeout with what arrived (maybe nothing); a timeout is not an error.
void Timeout()
{
    auto c = YR::Subscribe("cpp-timeout", YR::SubscriptionConfig("t", YR::SubscriptionType::STREAM));
    std::vector<YR::Element> got{YR::Element()};
    c->Receive(200, got);
    CHECK(got.empty());
    auto p = YR::CreateProducer("cpp-timeout");
    SendStr(*p, "one");
    SendStr(*p, "two");
    p->Flush();
    c->Receive(5, 500, got);  // 5 expected, 2 there: the two, at the timeout
    CHECK(got.size() == 2 && Str(got[0]) == "one" && Str(got[1]) == "two");
    p->Close();
    c->Close();
    YR::DeleteStream("cpp-timeout");
}

// autoAck: each Receive acks the previous one, so a producer never blocks on a 64 KiB stream.
void AutoAck()
{
    YR::ProducerConf conf;
    conf.maxStreamSize = 64 * 1024;
    conf.pageSize = 4096;
    conf.delayFlushTime = 0;
    auto c = YR::Subscribe("cpp-autoack", YR::SubscriptionConfig("auto", YR::SubscriptionType::STREAM), true);
    auto p = YR::CreateProducer("cpp-autoack", conf);
    std::string chunk(8 * 1024, 'k');
    for (int i = 0; i < 40; i++) {  // 320 KiB through 64 KiB: only with acks
        p->Send(YR::Element(reinterpret_cast<uint8_t *>(chunk.data()), chunk.size()), 60000);
        std::vector<YR::Element> got;
        c->Receive(1, 60000, got);
        CHECK(got.size() == 1 && got[0].size == chunk.size());
    }
    p->Close();
    c->Close();
    YR::DeleteStream("cpp-autoack");
}

void Errors()
{
    auto e = ExpectError("page", [] {
        YR::ProducerConf conf;
        conf.pageSize = 5000;
        YR::CreateProducer("cpp-err", conf);
    });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
    e = ExpectError("encrypt", [] {
        YR::ProducerConf conf;
        conf.encryptStream = true;
        YR::CreateProducer("cpp-err", conf);
    });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
    e = ExpectError("round robin", [] {
        YR::Subscribe("cpp-err", YR::SubscriptionConfig("rr", YR::SubscriptionType::ROUND_ROBIN));
    });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
    e = ExpectError("no name", [] { YR::Subscribe("cpp-err", YR::SubscriptionConfig("", YR::SubscriptionType::STREAM)); });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
    e = ExpectError("empty stream", [] { YR::CreateProducer(""); });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);

    // A full stream: a send that must flush waits timeoutMs, then fails; that element is not sent.
    YR::ProducerConf conf;
    conf.maxStreamSize = 64 * 1024;
    conf.pageSize = 64 * 1024;
    conf.delayFlushTime = 0;
    auto c = YR::Subscribe("cpp-err", YR::SubscriptionConfig("slow", YR::SubscriptionType::STREAM));
    auto p = YR::CreateProducer("cpp-err", conf);
    std::string chunk(40 * 1024, 'f');
    auto el = YR::Element(reinterpret_cast<uint8_t *>(chunk.data()), chunk.size());
    p->Send(el, 1000);
    e = ExpectError("full", [&] { p->Send(el, 300); });
    CHECK(e.Code() == YR::ERR_GET_OPERATION_FAILED);
    e = ExpectError("delete in use", [] { YR::DeleteStream("cpp-err"); });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
    e = ExpectError("expect 0", [&] {
        std::vector<YR::Element> got;
        c->Receive(0, 10, got);
    });
    CHECK(e.Code() == YR::ERR_PARAM_INVALID);
    std::vector<YR::Element> got;
    c->Receive(5, 2000, got);
    CHECK(got.size() == 1);  // the element that timed out was not sent
    p->Close();
    p->Close();  // closing twice is no error
    e = ExpectError("closed producer", [&] { p->Send(el); });
    CHECK(e.Code() == YR::ERR_FINALIZED);
    c->Close();
    e = ExpectError("closed consumer", [&] { c->Receive(10, got); });
    CHECK(e.Code() == YR::ERR_FINALIZED);
    e = ExpectError("closed ack", [&] { c->Ack(1); });
    CHECK(e.Code() == YR::ERR_FINALIZED);
    YR::DeleteStream("cpp-err");
    YR::DeleteStream("cpp-never-made");  // an unknown stream: nothing to delete, no error
    CHECK(YR::QueryGlobalProducersNum("cpp-never-made") == 0);
}

// A stateless C++ worker produces; an instance's consumer (autoAck) and the driver's both get all.
void Worker()
{
    const int n = 300;
    auto collector = YR::Instance(Collector::FactoryCreate).Invoke(std::string("cpp-worker"));
    auto mine = YR::Subscribe("cpp-worker", YR::SubscriptionConfig("driver", YR::SubscriptionType::STREAM));
    auto verdict = collector.Function(&Collector::Collect).Invoke(n);
    for (int i = 0; i < 1200 && YR::QueryGlobalConsumersNum("cpp-worker") < 2; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the instance subscribes when it starts
    }
    CHECK(*YR::Get(YR::Function(Produce).Invoke(std::string("cpp-worker"), n), 120) == n);
    CHECK(*YR::Get(verdict, 120) == "ok");
    auto got = ReceiveAll(*mine, n);
    CHECK(got.size() == n);
    for (int i = 0; i < n; i++) {
        CHECK(got[i] == Item(i));
    }
    mine->Close();
    collector.Terminate();
}

// Cross-language, run by the Python test: consume n elements a Python producer sent (kept by
// retain_for_num_consumers until this subscription) and answer how they looked.
void FromPython()
{
    const size_t n = 500;
    auto c = YR::Subscribe("xl-py2cpp", YR::SubscriptionConfig("cpp", YR::SubscriptionType::STREAM));
    auto got = ReceiveAll(*c, n);
    CHECK(got.size() == n);
    for (size_t i = 0; i < n; i++) {
        CHECK(got[i] == Item(static_cast<int>(i)));
    }
    c->Close();
}

// Cross-language: produce n elements for a Python consumer, one of them 3 MiB.
void ToPython()
{
    auto p = YR::CreateProducer("xl-cpp2py");
    for (int i = 0; i < 500; i++) {
        SendStr(*p, Item(i));
    }
    SendStr(*p, std::string(3 * 1024 * 1024, 'L'));
    p->Close();
}

}  // namespace

int main(int argc, char *argv[])
{
    std::string scenario = argc > 1 ? argv[1] : "";
    YR::Init(YR::Config{}, argc, argv);
    return RunScenario(scenario, {
        {"order", Order},   {"large", Large},   {"timeout", Timeout},        {"autoack", AutoAck},
        {"errors", Errors}, {"worker", Worker}, {"from_python", FromPython}, {"to_python", ToPython},
    });
}

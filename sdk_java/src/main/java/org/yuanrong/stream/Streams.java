package org.yuanrong.stream;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Link;

/**
 * The stream calls behind {@code YR.createProducer}, {@code YR.subscribe} and
 * {@code YR.deleteStream}: each one {@code yr._bridge} stream_* call; the producer or consumer
 * lives in the Python runtime under the id the Java object holds.
 */
public final class Streams {
    private Streams() {
    }

    /** A producer of the stream, created if it does not exist. */
    public static Producer createProducer(String streamName, ProducerConfig conf) throws YRException {
        if (conf == null) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "createProducer: the ProducerConfig is null");
        }
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("delay_flush_time", conf.getDelayFlushTimeMs());
        c.put("page_size", conf.getPageSizeByte());
        c.put("max_stream_size", conf.getMaxStreamSize());
        c.put("auto_clean_up", conf.isAutoCleanup());
        c.put("encrypt_stream", conf.isEncryptStream());
        c.put("retain_for_num_consumers", conf.getRetainForNumConsumers());
        c.put("reserve_size", conf.getReserveSize());
        c.put("extend_config", conf.getExtendConfig());
        String key = (String) Link.require().call("stream_create_producer", streamName, c);
        return new StreamProducer(streamName, key);
    }

    /** A consumer through config's subscription; with autoAck each receive acks the previous one's elements. */
    public static Consumer subscribe(String streamName, SubscriptionConfig config, boolean autoAck)
            throws YRException {
        if (config == null || config.getSubscriptionType() == null) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "subscribe: the SubscriptionConfig or its type is null");
        }
        String key = (String) Link.require().call("stream_subscribe", streamName, config.getSubscriptionName(),
                config.getSubscriptionType().ordinal(), autoAck, config.getExtendConfig());
        return new StreamConsumer(streamName, key);
    }

    /** Deletes the stream; refused (ERR_PARAM_INVALID) while it has producers or consumers. */
    public static void deleteStream(String streamName) throws YRException {
        Link.require().call("stream_delete", streamName);
    }

    /** [producers, consumers] of the stream in all processes. */
    public static long count(String streamName, int which) throws YRException {
        List<?> counts = (List<?>) Link.require().call("stream_counts", streamName);
        return ((Number) counts.get(which)).longValue();
    }
}

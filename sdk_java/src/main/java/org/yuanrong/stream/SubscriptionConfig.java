package org.yuanrong.stream;

import java.util.HashMap;
import java.util.Map;

/**
 * A consumer's subscription: its name and type (STREAM only).
 * {@code SubscriptionConfig.builder().subscriptionName("sub").build()}.
 */
public class SubscriptionConfig {
    private String subscriptionName = "";
    private SubscriptionType subscriptionType = SubscriptionType.STREAM;
    private Map<String, String> extendConfig = new HashMap<>();

    public SubscriptionConfig() {
    }

    public SubscriptionConfig(String subscriptionName, SubscriptionType subscriptionType) {
        this.subscriptionName = subscriptionName;
        this.subscriptionType = subscriptionType;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String getSubscriptionName() {
        return subscriptionName;
    }

    public SubscriptionType getSubscriptionType() {
        return subscriptionType;
    }

    public Map<String, String> getExtendConfig() {
        return extendConfig;
    }

    /** Builds a SubscriptionConfig. */
    public static class Builder {
        private final SubscriptionConfig c = new SubscriptionConfig();

        public Builder subscriptionName(String v) {
            c.subscriptionName = v;
            return this;
        }

        public Builder subscriptionType(SubscriptionType v) {
            c.subscriptionType = v;
            return this;
        }

        public Builder extendConfig(Map<String, String> v) {
            c.extendConfig = v == null ? new HashMap<>() : new HashMap<>(v);
            return this;
        }

        public SubscriptionConfig build() {
            return c;
        }
    }
}

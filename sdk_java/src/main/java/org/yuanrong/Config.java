package org.yuanrong;

/**
 * Driver configuration for {@code YR.init(Config)}.
 *
 * <p>{@code serverAddress} names a running yr master ("host:port"); when empty the
 * Python SDK's discovery applies (YR_SERVER_ADDRESS, the current session, otherwise a
 * temporary local runtime that lives as long as the driver). {@code pythonExecutable}
 * chooses the Python that runs the bridge (default: env YR_PYTHON, then python3).
 */
public class Config {
    private String serverAddress = "";
    private int serverAddressPort = 0;
    private String logLevel = "";
    private String ns = "";
    private String pythonExecutable = "";
    private int bridgeStartTimeoutSec = 60;

    public Config() {
    }

    public Config(String serverAddress) {
        this.serverAddress = serverAddress;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String getServerAddress() {
        return serverAddress;
    }

    public Config setServerAddress(String serverAddress) {
        this.serverAddress = serverAddress == null ? "" : serverAddress;
        return this;
    }

    public int getServerAddressPort() {
        return serverAddressPort;
    }

    public Config setServerAddressPort(int port) {
        this.serverAddressPort = port;
        return this;
    }

    public String getLogLevel() {
        return logLevel;
    }

    public Config setLogLevel(String logLevel) {
        this.logLevel = logLevel == null ? "" : logLevel;
        return this;
    }

    public String getNs() {
        return ns;
    }

    public Config setNs(String ns) {
        this.ns = ns == null ? "" : ns;
        return this;
    }

    public String getPythonExecutable() {
        return pythonExecutable;
    }

    public Config setPythonExecutable(String python) {
        this.pythonExecutable = python == null ? "" : python;
        return this;
    }

    public int getBridgeStartTimeoutSec() {
        return bridgeStartTimeoutSec;
    }

    public Config setBridgeStartTimeoutSec(int sec) {
        this.bridgeStartTimeoutSec = sec;
        return this;
    }

    /** The full server address ("host:port"), or "" for discovery. */
    public String fullServerAddress() {
        if (serverAddress.isEmpty() || serverAddressPort <= 0 || serverAddress.contains(":")) {
            return serverAddress;
        }
        return serverAddress + ":" + serverAddressPort;
    }

    /** Builder in the style of openYuanrong's Lombok builder. */
    public static class Builder {
        private final Config config = new Config();

        public Builder serverAddress(String v) {
            config.setServerAddress(v);
            return this;
        }

        public Builder serverAddressPort(int v) {
            config.setServerAddressPort(v);
            return this;
        }

        public Builder logLevel(String v) {
            config.setLogLevel(v);
            return this;
        }

        public Builder ns(String v) {
            config.setNs(v);
            return this;
        }

        public Builder pythonExecutable(String v) {
            config.setPythonExecutable(v);
            return this;
        }

        public Builder bridgeStartTimeoutSec(int v) {
            config.setBridgeStartTimeoutSec(v);
            return this;
        }

        public Config build() {
            return config;
        }
    }
}

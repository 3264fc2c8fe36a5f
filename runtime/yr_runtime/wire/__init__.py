"""The wire layer: addresses and transports, framing, the connection handshake, the typed
messages of the agent and zygote links, the body layout of values and the error kinds.

Shared by the runtime and the SDK; it knows nothing about instances, objects or sessions
(those live in `yr_runtime.local`), and imports no other part of the runtime.
"""

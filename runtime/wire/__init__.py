"""The wire layer: framing, the connection handshake and session discovery.

Shared by the runtime and the SDK; it knows nothing about instances or objects.
"""

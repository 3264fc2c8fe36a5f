"""gRPC credentials of the master's TCP port and of the nodes' channels to it, from a
session's TLS identity (`wire.tls.Identity`; docs/architecture.md "Security").

The master's port requires a client certificate issued by the cluster CA (the TLS
handshake fails otherwise, before any HTTP/2 frame is read); clients verify the master's
certificate against the CA and the name MASTER_NAME, whatever address they dialled.
"""
from __future__ import annotations

import grpc

from yr_runtime.wire.tls import MASTER_NAME, Identity, identity_in
from yr_runtime.wire import masters


def server_credentials(ident: Identity) -> grpc.ServerCredentials:
    ca, cert, key = ident.pem()
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)


def channel_credentials(ident: Identity) -> grpc.ChannelCredentials:
    ca, cert, key = ident.pem()
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)


# The name checked in the master's certificate, whatever address was dialled.
CHANNEL_OPTIONS = [("grpc.ssl_target_name_override", MASTER_NAME)]


def channel(address: str, session_dir) -> grpc.Channel:
    """A blocking channel to the master at `address` as the member whose session is `session_dir`:
    mutual TLS over TCP if that session holds a TLS identity, plain otherwise (a Unix socket
    always). For the `yr` command; the SDK makes its own (it may not import services)."""
    ident = None if address.startswith("unix:") else identity_in(session_dir)
    address = masters.target(address)
    if ident is None:
        return grpc.insecure_channel(address)
    return grpc.secure_channel(address, channel_credentials(ident), CHANNEL_OPTIONS)

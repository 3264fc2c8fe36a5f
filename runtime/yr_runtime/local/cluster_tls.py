"""What `yr start` decides and says about TLS between machines (without loading `cryptography`:
the certificates themselves are made by `local.pki` in the daemon)."""
from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

from yr_runtime.wire.tls import TLS_DIR

BUNDLE_FILE = "join.bundle"   # in a --tls master's session: token, CA certificate, a member certificate
STANDBY_BUNDLE_FILE = "standby.bundle"   # the same with a certificate that may serve as a master
CA_KEY = "ca-key.pem"         # in the master's session's tls/: the cluster CA's private key


def is_loopback(host: str) -> bool:
    """True if every address `host` names is a loopback one (then TLS is off by default: the
    traffic never leaves the machine). An unresolvable name counts as not loopback."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0].split("%")[0]).is_loopback for i in infos)


def wanted(flag: bool | None, node_ip: str) -> bool:
    """Whether a master uses TLS: as --tls/--no-tls say, else when it listens beyond loopback."""
    return flag if flag is not None else not is_loopback(node_ip)


def join_hint(session_dir: Path, tcp_address: str) -> str:
    """The lines `yr start --master` prints about TLS: where the join bundle is and how another
    machine uses it; '' for a master without TLS."""
    bundle = Path(session_dir) / BUNDLE_FILE
    if not bundle.is_file():
        return "  TLS: off (the default on loopback; --tls turns it on, as a non-loopback --node-ip does)\n"
    return (f"  TLS: on (mutual, cluster CA in {Path(session_dir) / 'tls'})\n"
            f"  on another machine: copy {bundle} there (it holds the token and a certificate: keep it 0600)\n"
            f"    and run: yr start --master_address {tcp_address} --token-file join.bundle\n"
            f"  a standby master (with --etcd): {Path(session_dir) / STANDBY_BUNDLE_FILE}, given there as\n"
            f"    yr start --master --tls --etcd URL --token-file standby.bundle\n")


def forget_secrets(session_dir: Path) -> None:
    """Removes the session's private keys and join bundle: a stopped member keeps its logs, but
    its stopped cluster's CA must sign nothing more and its keys open nothing."""
    for name in (Path(TLS_DIR) / CA_KEY, Path(TLS_DIR) / "key.pem", Path(BUNDLE_FILE), Path(STANDBY_BUNDLE_FILE)):
        try:
            (Path(session_dir) / name).unlink()
        except FileNotFoundError:
            pass

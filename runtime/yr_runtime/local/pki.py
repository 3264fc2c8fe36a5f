"""The cluster CA and its certificates, for TLS between machines (`yr start --master --tls`).

Made with `cryptography` (X.509 and keys); used through the standard `ssl` module and gRPC's
credentials, which take the PEM files written here. Layout in a session directory (0700):

  tls/ca.pem        the cluster CA's certificate: what every member verifies its peers against
  tls/ca-key.pem    the CA's private key (0600), only in the master's session: it never leaves it
  tls/cert.pem      this session's own certificate, issued by the cluster CA
  tls/key.pem       its private key (0600)
  join.bundle       (master only, 0600) what a joining node needs: the token, the CA certificate
                    and a member certificate with its key (JSON); copy it to another machine
                    and give it with `--token-file`
  standby.bundle    (master only, 0600) the same with a certificate naming MASTER_NAME: what a
                    standby master of the same cluster (`--tls --etcd URL --token-file`) serves with

Every certificate names what it may serve as (wire.tls.MASTER_NAME for the master's control
port, wire.tls.NODE_NAME for a node's data port) and may be used on both ends of a
connection, so a peer is authenticated by "issued by this cluster's CA", never by its address.
"""
from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from yr_runtime.wire.tls import MASTER_NAME, NODE_NAME, TLS_DIR, Identity

from yr_runtime.local.cluster_tls import BUNDLE_FILE, CA_KEY, STANDBY_BUNDLE_FILE
BUNDLE_KIND = "yr-join-bundle"
VALID_DAYS = 3650   # a cluster lives as long as its master's session; the CA dies with it


class BundleError(ValueError):
    """A token file or join bundle that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Credentials:
    """What a member needs: the cluster token and, with TLS, PEM bytes of the CA, its cert and key."""
    token: bytes
    ca: bytes = b""
    cert: bytes = b""
    key: bytes = b""

    @property
    def tls(self) -> bool:
        return bool(self.cert)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    """Writes a new file with `mode` from the start (no window where a key is readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _builder(subject: str, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer).public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))   # clocks of machines differ a little
            .not_valid_after(now + datetime.timedelta(days=days)))


def new_ca(name: str = "yr cluster CA") -> tuple[bytes, bytes]:
    """A new self-signed CA: (certificate PEM, private key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (_builder(name, issuer, key.public_key(), VALID_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def issue(ca_pem: bytes, ca_key_pem: bytes, common_name: str, master: bool = False) -> tuple[bytes, bytes]:
    """A certificate for one member, signed by the CA: (certificate PEM, private key PEM). It names
    NODE_NAME (and MASTER_NAME for the master) and serves as both server and client."""
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(NODE_NAME)] + ([x509.DNSName(MASTER_NAME)] if master else [])
    cert = (_builder(common_name, ca.subject, key.public_key(), VALID_DAYS)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def write_identity(session_dir: Path, creds: Credentials) -> Identity:
    """Writes the CA certificate, this member's certificate and key into <session>/tls/."""
    d = Path(session_dir) / TLS_DIR
    d.mkdir(mode=0o700, exist_ok=True)
    ident = Identity.of(session_dir)
    _write(ident.ca, creds.ca, 0o644)
    _write(ident.cert, creds.cert, 0o644)
    _write(ident.key, creds.key, 0o600)
    return ident


def make_cluster(session_dir: Path, token: bytes) -> Path:
    """The master's part: a new cluster CA (its key stays in this session), the master's own
    certificate, and the join bundle for nodes. Returns the bundle's path."""
    ca_pem, ca_key = new_ca()
    (Path(session_dir) / TLS_DIR).mkdir(mode=0o700, exist_ok=True)
    _write(Path(session_dir) / TLS_DIR / CA_KEY, ca_key, 0o600)
    cert, key = issue(ca_pem, ca_key, "yr master", master=True)
    write_identity(session_dir, Credentials(token, ca_pem, cert, key))
    member, member_key = issue(ca_pem, ca_key, "yr node")
    bundle = Path(session_dir) / BUNDLE_FILE
    _write(bundle, encode_bundle(Credentials(token, ca_pem, member, member_key)), 0o600)
    standby, standby_key = issue(ca_pem, ca_key, "yr standby master", master=True)
    _write(Path(session_dir) / STANDBY_BUNDLE_FILE, encode_bundle(Credentials(token, ca_pem, standby, standby_key)),
           0o600)
    return bundle


def check_serves_as_master(creds: Credentials, path: Path) -> None:
    """Raises BundleError unless `creds` (read from `path`) hold a certificate a master may
    serve with (it names MASTER_NAME): a node's join bundle would make every node refuse it."""
    cert = x509.load_pem_x509_certificate(creds.cert)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names = []
    if MASTER_NAME not in [n.value for n in names if isinstance(n, x509.DNSName)]:
        raise BundleError(f"{path} is a join bundle for nodes; a standby master of a --tls cluster is given "
                          f"the leader's {STANDBY_BUNDLE_FILE} (in its session directory) with --token-file")


def encode_bundle(creds: Credentials) -> bytes:
    return json.dumps({"kind": BUNDLE_KIND, "token": creds.token.decode(), "ca": creds.ca.decode(),
                       "cert": creds.cert.decode(), "key": creds.key.decode()}, indent=1).encode()


def read_credentials(path: Path) -> Credentials:
    """A token file (the token alone: no TLS) or a join bundle (token and certificates).
    Raises BundleError naming the file and what is wrong with it."""
    try:
        data = Path(path).read_bytes().strip()
    except OSError as e:
        raise BundleError(f"cannot read the cluster token file {path}: {e.strerror or e}") from None
    if not data.startswith(b"{"):
        if not data or len(data) > 256 or not all(0x21 <= b <= 0x7e for b in data):   # printable, no spaces
            raise BundleError(f"{path} holds neither a cluster token nor a yr join bundle")
        return Credentials(data)
    try:
        d = json.loads(data)
        if d.get("kind") != BUNDLE_KIND:
            raise ValueError(f"its kind is {d.get('kind')!r}, not {BUNDLE_KIND!r}")
        creds = Credentials(*(str(d[k]).encode() for k in ("token", "ca", "cert", "key")))
        x509.load_pem_x509_certificate(creds.ca)
        x509.load_pem_x509_certificate(creds.cert)
        serialization.load_pem_private_key(creds.key, password=None)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise BundleError(f"{path} is not a valid yr join bundle ({type(e).__name__}: {e})") from None
    if not creds.token:
        raise BundleError(f"{path} is not a valid yr join bundle (no token)")
    return creds


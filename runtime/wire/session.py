"""Session directories: where a running yr runtime can be found and how to authenticate.

A session directory (mode 0700) holds `session.json` (addresses, pid) and `token`
(mode 0600). `<root>/latest` points at the session started by `yr start`; a temporary
runtime started by `yr.init()` is never made `latest`, so other drivers do not join it.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, asdict
from pathlib import Path

DEFAULT_ROOT = Path(os.environ.get("YR_SESSION_ROOT", "/tmp/yr_sessions"))
TOKEN_FILE = "token"
MAX_SOCKET_DIR = 80
INFO_FILE = "session.json"


@dataclass
class SessionInfo:
    session_dir: str
    master_address: str   # gRPC target, e.g. unix:/tmp/yr_sessions/x/master.sock
    agent_address: str    # framed socket path of the node agent (workers, object store)
    pid: int
    temporary: bool = False

    @property
    def token(self) -> bytes:
        return read_token(Path(self.session_dir))


def make_session_dir(root: Path = DEFAULT_ROOT) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o1777 if os.geteuid() == 0 and str(root).startswith("/tmp") else 0o700)
    name = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
    d = root / name
    d.mkdir(mode=0o700)
    os.chmod(d, 0o700)
    (d / "logs").mkdir(mode=0o700)
    sock = d / "sock"
    if len(str(sock)) > MAX_SOCKET_DIR:
        # Unix socket paths are limited to ~107 bytes: keep the sockets in a short directory.
        sock.symlink_to(tempfile.mkdtemp(prefix="yr-sock-", dir="/tmp"))
    else:
        sock.mkdir(mode=0o700)
    fd = os.open(d / TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return d


def socket_dir(session_dir) -> Path:
    """Where the session's sockets live (session/sock, or the short directory it links to)."""
    return Path(os.path.realpath(Path(session_dir) / "sock"))


def remove_socket_dir(session_dir) -> None:
    sock = Path(session_dir) / "sock"
    target = socket_dir(session_dir)
    for p in target.glob("*.sock"):
        p.unlink(missing_ok=True)
    if sock.is_symlink():
        sock.unlink()
        shutil.rmtree(target, ignore_errors=True)


def read_token(session_dir: Path) -> bytes:
    return (Path(session_dir) / TOKEN_FILE).read_bytes().strip()


def write_info(info: SessionInfo) -> None:
    path = Path(info.session_dir) / INFO_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info)))
    os.replace(tmp, path)


def read_info(session_dir: Path) -> SessionInfo:
    data = json.loads((Path(session_dir) / INFO_FILE).read_text())
    return SessionInfo(**data)


def mark_latest(session_dir: Path, root: Path = DEFAULT_ROOT) -> None:
    link = root / "latest"
    tmp = root / f".latest-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(session_dir)
    os.replace(tmp, link)


def clear_latest(session_dir: Path, root: Path = DEFAULT_ROOT) -> None:
    link = root / "latest"
    try:
        if link.is_symlink() and Path(os.readlink(link)) == Path(session_dir):
            link.unlink()
    except FileNotFoundError:
        pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_running(root: Path = DEFAULT_ROOT) -> SessionInfo | None:
    """The session `yr start` made current, if its daemon is still alive; stale links are removed."""
    link = root / "latest"
    if not link.is_symlink():
        return None
    try:
        info = read_info(Path(os.readlink(link)))
    except (OSError, ValueError, TypeError):
        info = None
    if info is None or not pid_alive(info.pid):
        try:
            link.unlink()
        except OSError:
            pass
        return None
    return info


def remove_stale(root: Path = DEFAULT_ROOT) -> list[Path]:
    """Removes session directories whose daemon is gone (left by a crash or SIGKILL)."""
    removed = []
    if not root.is_dir():
        return removed
    for d in root.iterdir():
        if d.is_symlink() or not d.is_dir() or not (d / INFO_FILE).exists():
            continue
        try:
            info = read_info(d)
        except (OSError, ValueError, TypeError):
            continue
        if not pid_alive(info.pid):
            remove_socket_dir(d)
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed

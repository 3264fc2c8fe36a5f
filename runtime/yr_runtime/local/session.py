"""Session directories: where a running yr runtime can be found and how to authenticate.

A session directory (mode 0700) holds `session.json` (addresses, pid) and `token`
(mode 0600). `<root>/latest` points at the session started by `yr start`; a temporary
runtime started by `yr.init()` is never made `latest`, so other drivers do not join it.

Each user has their own session root (`default_root`), so runtimes of different users
never see each other. A root must belong to its user and be writable by nobody else:
whoever can write it could make a driver join their runtime.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, asdict
from pathlib import Path

TOKEN_FILE = "token"
MAX_SOCKET_DIR = 80
INFO_FILE = "session.json"
PID_CLOCK_SLACK = 1.0   # seconds: psutil's create time derives from a boot time rounded to 1 s


class SessionRootError(OSError):
    """The session root cannot be used safely (another user's, or writable by others)."""


def default_root() -> Path:
    """This user's session root: `$YR_SESSION_ROOT` if set, else `$XDG_RUNTIME_DIR/yr` if that
    directory is this user's and writable, else `/tmp/yr-<uid>`. Read at each call, so a
    process that changes its environment (a test) gets the root it asked for."""
    explicit = os.environ.get("YR_SESSION_ROOT")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and _own_writable_dir(xdg):
        return Path(xdg) / "yr"
    return Path("/tmp") / f"yr-{os.geteuid()}"   # not $TMPDIR: drivers and daemons must agree


def _own_writable_dir(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and os.access(path, os.W_OK | os.X_OK)


def check_root(root: Path) -> None:
    """Raises SessionRootError unless `root` (if it exists) is a directory of this user that
    nobody else can write."""
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        return
    except OSError as e:
        raise SessionRootError(f"cannot use the yr session root {root}: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise SessionRootError(f"cannot use the yr session root {root}: it is not a directory "
                               "(set YR_SESSION_ROOT to a directory of your own)")
    if st.st_uid != os.geteuid():
        raise SessionRootError(f"cannot use the yr session root {root}: it belongs to uid {st.st_uid}, not to you "
                               f"(uid {os.geteuid()}); set YR_SESSION_ROOT to a directory of your own")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SessionRootError(f"cannot use the yr session root {root}: others can write it "
                               f"(mode {stat.S_IMODE(st.st_mode):o}); `chmod 700 {root}` or set YR_SESSION_ROOT")


def ensure_root(root: Path | None = None) -> Path:
    """The session root, made (mode 0700) if missing and checked with `check_root`."""
    root = Path(root) if root is not None else default_root()
    check_root(root)
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise SessionRootError(f"cannot make the yr session root {root}: {e.strerror}") from None
    check_root(root)   # it may have appeared, made by someone else, between the check and mkdir
    return root


@dataclass
class SessionInfo:
    session_dir: str
    master_address: str   # gRPC target, e.g. unix:/tmp/yr-0/x/sock/master.sock
    agent_address: str    # framed socket path of the node agent (workers, object store)
    pid: int
    temporary: bool = False
    tcp_address: str = ""  # the master's HOST:PORT for nodes and remote drivers ("": none, the default)
    node_id: str = "node-0"
    joined: str = ""       # a joined node: the master's HOST:PORT it joined ("" for a master)
    data_address: str = "" # the node's TCP data port, tcp:HOST:PORT ("": none, the single-machine default)
    dashboard: str = ""    # the master's dashboard and /metrics, http://HOST:PORT ("": none)

    @property
    def token(self) -> bytes:
        return read_token(Path(self.session_dir))


def make_session_dir(root: Path | None = None, token: bytes | None = None) -> Path:
    """A new session directory with its token: a new random one, or `token` (a joined node
    keeps its cluster's token, so callers from other nodes authenticate to its workers)."""
    root = ensure_root(root)
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
        f.write(token.decode() if token is not None else secrets.token_hex(32))
    return d


def socket_dir(session_dir) -> Path:
    """Where the session's sockets live (session/sock, or the short directory it links to)."""
    return Path(os.path.realpath(Path(session_dir) / "sock"))


def worker_socket(session_dir, worker_id: str) -> Path:
    """The socket a worker listens on (made by the worker, removed by the agent when it exits)."""
    return socket_dir(session_dir) / f"w-{worker_id}.sock"


def remove_socket_dir(session_dir) -> None:
    """Removes the session's sockets and its `sock` entry: a session directory that still has
    one was left by a runtime that did not stop cleanly (see `remove_stale`)."""
    sock = Path(session_dir) / "sock"
    target = socket_dir(session_dir)
    for p in target.glob("*.sock"):
        p.unlink(missing_ok=True)
    if sock.is_symlink():
        sock.unlink()
        shutil.rmtree(target, ignore_errors=True)
    else:
        shutil.rmtree(sock, ignore_errors=True)


def sessions_of(root: Path | None = None) -> list[SessionInfo]:
    """Every session under `root` (default: the user's) whose daemon is running: the master
    and the nodes started on this machine."""
    root = Path(root) if root is not None else default_root()
    found = []
    if not root.is_dir():
        return found
    for d in sorted(root.iterdir()):
        if d.is_symlink() or not (d / INFO_FILE).exists():
            continue
        try:
            info = read_info(d)
        except (OSError, ValueError, TypeError):
            continue
        if runtime_alive(info):
            found.append(info)
    return found


def find_master(tcp_address: str, root: Path | None = None) -> SessionInfo | None:
    """The running master on this machine that listens on `tcp_address` (HOST:PORT), if any."""
    for info in sessions_of(root):
        if info.tcp_address == tcp_address and not info.joined:
            return info
    return None


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


def mark_latest(session_dir: Path, root: Path | None = None) -> None:
    root = ensure_root(root)
    link = root / "latest"
    tmp = root / f".latest-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(session_dir)
    os.replace(tmp, link)


def clear_latest(session_dir: Path, root: Path | None = None) -> None:
    link = (Path(root) if root is not None else default_root()) / "latest"
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


def daemon_process(info: SessionInfo):
    """The psutil.Process of the session's daemon, or None if `info.pid` is gone or now belongs
    to another process (pids are reused: a stale session must never make us signal a stranger).
    The daemon runs `yr_runtime.daemon` and was started before it wrote its session file."""
    import psutil   # imported here: `import yr` stays light
    try:
        proc = psutil.Process(info.pid)
        cmdline = proc.cmdline()
        started = proc.create_time()
        zombie = proc.status() == psutil.STATUS_ZOMBIE
        written = (Path(info.session_dir) / INFO_FILE).stat().st_mtime
    except (psutil.NoSuchProcess, OSError):
        return None
    except psutil.AccessDenied:   # a process we may not inspect is not a daemon of ours
        return None
    if zombie or "yr_runtime.daemon" not in cmdline or started > written + PID_CLOCK_SLACK:
        return None
    return proc


def runtime_alive(info: SessionInfo) -> bool:
    return daemon_process(info) is not None


def find_running(root: Path | None = None) -> SessionInfo | None:
    """The session `yr start` made current, if its daemon is still alive; stale links are removed.
    Raises SessionRootError if the root is not safe to use."""
    root = Path(root) if root is not None else default_root()
    check_root(root)
    link = root / "latest"
    if not link.is_symlink():
        return None
    try:
        info = read_info(Path(os.readlink(link)))
    except (OSError, ValueError, TypeError):
        info = None
    if info is None or not runtime_alive(info):
        try:
            link.unlink()
        except OSError:
            pass
        return None
    return info


def remove_stale(root: Path | None = None) -> list[Path]:
    """Removes the session directories (and sockets) of runtimes that died without cleaning up
    (SIGKILL, a crash): their daemon is gone and their `sock` entry is still there. Directories
    of runtimes that stopped cleanly keep their logs."""
    root = Path(root) if root is not None else default_root()
    check_root(root)
    removed = []
    if not root.is_dir():
        return removed
    for d in root.iterdir():
        if d.is_symlink() or not d.is_dir() or not (d / INFO_FILE).exists() or not os.path.lexists(d / "sock"):
            continue
        try:
            info = read_info(d)
        except (OSError, ValueError, TypeError):
            continue
        if not runtime_alive(info):
            remove_socket_dir(d)
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed

"""Worker-side host for Java code (owned by the Java SDK, issue 5; see docs/bridge.md "Hosts").

The runtime hands a ``{"language": "java", ...}`` instance or function to an ordinary
Python worker, which uses ``JavaHost`` to run it. The host starts one JVM per class path
(the driver's class path, plus the SDK and py4j jars when they are not on it) running
``org.yuanrong.runtime.worker.JavaWorkerMain``, and talks to it over py4j through a
``yr._bridge_py4j.Link``. Java code in that JVM reaches the runtime back through the same
link and ``yr._bridge``, so instance handles passed as arguments work there.

Lifetime: the JVM's stdin is a pipe from this process and the JVM exits at EOF, so it
dies with the worker even when the worker is killed; ``shutdown()`` closes it at once.
A JVM may come warm from the node's pool (``yr._jvm_pool``): the zygote started it, then
handed this worker its stdin and stdout, so the same holds; it takes this worker's
environment when taken.
The other way round, a JVM that dies under an instance takes the worker with it (the
instance's state is gone), so the runtime reports the instance dead as for any worker; a
stateless function's JVM is simply started again for the next call. With
``recover_retry_times`` the worker saves an instance's fields after each call
(``save_state``) and a restarted worker rebuilds it from them (``restore_instance``).
"""

from __future__ import annotations

import glob
import os
import queue
import secrets
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from typing import Any

from yr import _jvm_pool
from yr._bridge_py4j import JavaError, Link, bridge_module
from yr._bridge_sock import read_frame

__all__ = ["JavaHost", "JavaError", "JavaWorkerDied"]

_MAIN_CLASS = "org.yuanrong.runtime.worker.JavaWorkerMain"
_PORT_LINE = "YR_JAVA_PORT="
_START_TIMEOUT_S = float(os.environ.get("YR_JAVA_START_TIMEOUT", "60"))
_SOCKET_ENV = "YR_JAVA_CALL_SOCKET"
_HEAD = struct.Struct(">IH")
_ANSWER_BUF = 16384   # what one recv of an answer from the JVM takes; a larger one gets its own
# Pooled JVMs take their worker's environment through reflection (org.yuanrong.runtime.worker.Adopt).
_ADD_OPENS = "--add-opens=java.base/java.util=ALL-UNNAMED"


def _java_executable() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    found = shutil.which("java")
    if not found:
        raise RuntimeError("cannot run Java code: no java on PATH and JAVA_HOME is not set")
    return found


def _installed_sdk_jar() -> list[str]:
    """The SDK jar scripts/install.sh put into this environment's prefix, else the newest in
    the user's local Maven repository. Not only $HOME: Maven's Java reads the home directory
    from the password database, so with another HOME it installed under that one."""
    found = glob.glob(os.path.join(sys.prefix, "share", "yr", "java", "yr-sdk-*.jar"))
    for home in dict.fromkeys([os.path.expanduser("~"), _passwd_home()]):
        m2 = os.path.join(home, ".m2", "repository", "org", "yuanrong", "yr-sdk")
        found += sorted(glob.glob(os.path.join(m2, "*", "yr-sdk-*.jar")))[-1:]
    return [j for j in found if os.path.exists(j)][:1]   # a link dangles after `mvn clean`


def _passwd_home() -> str:
    try:
        import pwd
        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError):
        return os.path.expanduser("~")


def _fallback_jars() -> list[str]:
    """SDK and py4j jars for class paths that lack them (e.g. specs written by hand)."""
    jars = [os.environ.get("YR_JAVA_SDK_JAR", ""), *_installed_sdk_jar()]
    import py4j
    for prefix in (sys.prefix, os.path.dirname(os.path.dirname(py4j.__file__))):
        jars += glob.glob(os.path.join(prefix, "share", "py4j", "py4j*.jar"))[:1]
    return [j for j in jars if j and os.path.exists(j)]


def _has(entries: list[str], kind: str) -> bool:
    for entry in entries:
        if os.path.basename(entry).startswith(kind):
            return True
        if kind == "yr-sdk" and os.path.exists(
                os.path.join(entry, "org", "yuanrong", "runtime", "worker", "JavaWorkerMain.class")):
            return True
    return False


def _classpath(spec_classpath: str) -> str:
    entries = [e for e in spec_classpath.split(os.pathsep) if e]
    for jar in _fallback_jars():
        kind = "py4j" if os.path.basename(jar).startswith("py4j") else "yr-sdk"
        if not _has(entries, kind):
            entries.append(jar)
    return os.pathsep.join(entries)


class _Jvm:
    """One worker JVM, its py4j link, and its data path.

    The host's calls (create, call_method, ...) go over a Unix socket the JVM serves
    (org.yuanrong.runtime.worker.CallSocket; frames: u32 length, then u16 op length, op,
    encoded arguments; answers: u32 length, encoded answer), one connection per concurrent
    caller, kept for reuse. py4j's round trip cost ~100 us of a Java call; a socket round
    trip costs what the kernel does. The py4j link stays: the JVM attaches through it, and
    Java code calls YR.* back through it. Values are encoded by the link's codec, so
    handles and refs cross either path alike.
    """

    def __init__(self, classpath: str, use_pool: bool = True) -> None:
        self._attaching: threading.Thread | None = None
        self._dir = ""
        self._free: list[tuple[socket.socket, bytearray]] = []   # idle connections, each with its read buffer
        cmd = [_java_executable(), "-XX:+UseSerialGC", _ADD_OPENS,
               *shlex.split(os.environ.get("YR_JAVA_OPTS", "")),
               "-cp", _classpath(classpath), _MAIN_CLASS]
        taken = _jvm_pool.take(cmd, os.getcwd()) if use_pool else None
        self.pooled = taken is not None
        if taken is not None:   # a warm JVM of this node's pool (yr._jvm_pool)
            token, self._socket_path = taken.token, taken.socket
            self.proc = _jvm_pool.TakenProcess(taken, cmd)
        else:
            token = secrets.token_hex(24)
            self._dir = tempfile.mkdtemp(prefix="yr-jvm-")   # mode 0700: only this user connects
            self._socket_path = os.path.join(self._dir, "calls.sock")
            env = dict(os.environ, YR_PY4J_TOKEN=token, **{_SOCKET_ENV: self._socket_path})
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        try:
            port = taken.port if taken is not None else self._read_port()
            self.link = Link(port, token, bridge_module(), connect=False)
            # A JVM of an older SDK jar serves no socket (it binds before its port line):
            # its calls go over py4j.
            self._direct = os.path.exists(self._socket_path)
            if self._direct:
                self._free.append((self._connect(), bytearray(_ANSWER_BUF)))
                # py4j's connect and attach (~20-300 ms, a Python thread and two py4j round
                # trips) go beside the creation: only Java code calling YR.* needs them,
                # and the JVM's Link waits for the attach (up to 60 s).
                self._attaching = threading.Thread(target=self._attach, name="yr-jvm-attach", daemon=True)
                self._attaching.start()
            else:
                self.link.connect()
            if taken is not None:   # it was started with the node's environment: take ours
                self.call("adopt", dict(os.environ, YR_PY4J_TOKEN=token,
                                        **{_SOCKET_ENV: self._socket_path}))
        except BaseException as exc:
            self.close()
            if taken is not None and isinstance(exc, Exception):
                raise _PoolFailed(str(exc)) from exc
            raise
        threading.Thread(target=self._pump_stdout, name="yr-jvm-stdout", daemon=True).start()

    def _attach(self) -> None:
        try:
            self.link.connect()
        except Exception as exc:  # noqa: BLE001 - reported; calls over the socket go on
            if self.proc.poll() is None:
                print(f"yr._java_host: the worker JVM's py4j link failed ({exc}); Java code "
                      "calling YR.* will fail", file=sys.stderr, flush=True)

    def _read_port(self) -> int:
        lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=_START_TIMEOUT_S).decode(errors="replace").strip()
        except queue.Empty:
            raise RuntimeError(f"the worker JVM did not start within {_START_TIMEOUT_S:.0f} s") from None
        if not line.startswith(_PORT_LINE):
            code = self.proc.poll()
            raise RuntimeError(f"the worker JVM failed to start (exit code {code}, first output "
                               f"{line!r}; see the worker log for its stderr)")
        return int(line[len(_PORT_LINE):])

    def _pump_stdout(self) -> None:
        # User code's System.out goes where this worker's stdout goes (its log).
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            try:
                os.write(sys.stdout.fileno(), chunk)
            except (OSError, ValueError):
                pass

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self._socket_path)
        except BaseException:
            sock.close()
            raise
        return sock

    def _socket_call(self, op: str, args: tuple) -> Any:
        codec = self.link.codec
        payload = codec.encode(list(args))
        name = op.encode()
        try:
            sock, buf = self._free.pop()   # list.pop is atomic: concurrent callers get distinct sockets
        except IndexError:
            sock, buf = self._connect(), bytearray(_ANSWER_BUF)
        try:
            sock.sendall(_HEAD.pack(2 + len(name) + len(payload), len(name)) + name + payload)
            body = bytes(read_frame(sock, buf))   # one recv for length and answer, as the bridge reads Java's
        except EOFError:
            sock.close()
            raise ConnectionError("the worker JVM closed its call socket") from None
        except BaseException:
            sock.close()   # a half-done exchange: this connection cannot be reused
            raise
        self._free.append((sock, buf))
        answer = codec.decode(body)
        if "err" in answer:
            raise JavaError(*answer["err"])
        return answer["ok"]

    def call(self, op: str, *args: Any) -> Any:
        if self.proc.poll() is not None:
            self._remove_socket_dir()
            raise JavaWorkerDied(f"the worker JVM has exited (code {self.proc.returncode})")
        try:
            if self._direct:
                return self._socket_call(op, args)
            return self.link.call(op, *args)
        except JavaError:
            raise
        except Exception:
            try:
                code = self.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                raise
            self._remove_socket_dir()
            raise JavaWorkerDied(f"the worker JVM exited (code {code}) during {op}") from None

    def _remove_socket_dir(self) -> None:
        """A JVM that ended without its shutdown hooks (halt, a crash, SIGKILL) left its
        call socket; a pooled one's directory has nobody else to remove it."""
        shutil.rmtree(self._dir or os.path.dirname(self._socket_path), ignore_errors=True)

    def close(self) -> None:
        for sock, _ in self._free:
            sock.close()
        self._free = []
        link = getattr(self, "link", None)
        if self._attaching is not None:
            self._attaching.join(timeout=5)
        if link is not None:
            link.close()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)


class _PoolFailed(RuntimeError):
    """A pooled JVM could not be set up for this worker (e.g. an SDK jar on the class path
    without the ``adopt`` operation): the caller starts a JVM of its own instead."""


class JavaWorkerDied(RuntimeError):
    """The JVM running the Java code exited (System.exit, a crash, a kill)."""


def _instance_lost(exc: JavaWorkerDied) -> None:
    """A Java instance whose JVM died has lost its state: end this worker, so the runtime
    reports the instance dead (its calls fail with 'instance exited') as for any worker."""
    print(f"yr._java_host: {exc}; ending this worker", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(70)


class _JavaInstance:
    """What the worker keeps for a Java instance: its JVM and its id there."""

    def __init__(self, jvm: _Jvm, instance_id: str, class_name: str) -> None:
        self.jvm = jvm
        self.instance_id = instance_id
        self.class_name = class_name

    def __repr__(self) -> str:
        return f"<Java {self.class_name} {self.instance_id}>"


def _no_kwargs(kwargs: dict | None) -> None:
    if kwargs:
        raise TypeError(f"Java code takes positional arguments only, got {sorted(kwargs)}")


class JavaHost:
    """The host of docs/bridge.md for ``"language": "java"`` specs."""

    def __init__(self, exit_when_jvm_dies: bool = True) -> None:
        self._jvms: dict[str, _Jvm] = {}
        self._lock = threading.Lock()
        self._exit_when_jvm_dies = exit_when_jvm_dies

    def _jvm(self, spec: dict) -> _Jvm:
        classpath = spec.get("classpath") or ""
        with self._lock:
            jvm = self._jvms.get(classpath)
            if jvm is None or jvm.proc.poll() is not None:
                try:
                    jvm = _Jvm(classpath)
                except _PoolFailed as exc:
                    print(f"yr._java_host: a pooled JVM failed ({exc}); starting one", file=sys.stderr, flush=True)
                    jvm = _Jvm(classpath, use_pool=False)
                self._jvms[classpath] = jvm
            return jvm

    def create_instance(self, spec: dict, args: list, kwargs: dict | None = None) -> _JavaInstance:
        _no_kwargs(kwargs)
        jvm = self._jvm(spec)
        instance_id = jvm.call("create", dict(spec), list(args))
        return _JavaInstance(jvm, instance_id, spec.get("class", "?"))

    def call_method(self, instance: _JavaInstance, method: str, args: list,
                    kwargs: dict | None = None) -> Any:
        _no_kwargs(kwargs)
        try:
            return instance.jvm.call("call_method", instance.instance_id, method, list(args))
        except JavaWorkerDied as exc:
            if not self._exit_when_jvm_dies:
                raise
            _instance_lost(exc)

    def call_function(self, spec: dict, args: list, kwargs: dict | None = None) -> Any:
        _no_kwargs(kwargs)
        return self._jvm(spec).call("call_function", dict(spec), list(args))

    def save_state(self, instance: _JavaInstance) -> dict:
        """The instance's fields as neutral values (static and transient fields excluded)."""
        return instance.jvm.call("save_state", instance.instance_id)

    def restore_instance(self, spec: dict | None, state: dict) -> _JavaInstance:
        """An instance rebuilt from save_state's value, in this worker's JVM for spec."""
        if spec is None:  # yr.load_state: the JVM the instance already runs in
            with self._lock:
                jvm = next(iter(self._jvms.values()))
        else:
            jvm = self._jvm(spec)
        return _JavaInstance(jvm, jvm.call("restore", state), state.get("class", "?"))

    def shutdown(self) -> None:
        with self._lock:
            jvms, self._jvms = list(self._jvms.values()), {}
        for jvm in jvms:
            jvm.close()

"""The yr daemon: wires a master and its local node into one asyncio process.

It builds the `Master` (yr_runtime.master: the cluster core, sessions, saved states), the
local node (`node.agent.Agent`, the master's NodeLink for this machine), the gRPC server
whose servicer translates for the master, the ticker and the signal handlers; it decides
nothing itself. Started by `yr start` or, for a driver with no runtime, by the SDK
(`--temporary`): then it stops when its owner process ends. It prints
`YR_READY <session dir>` on stdout once it serves.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # the daemon forks workers; gRPC must not hook fork
import grpc  # noqa: E402
import psutil  # noqa: E402

from yr_runtime.core import placement
from yr_runtime.core.resources import Resources
from yr_runtime.master import DEFAULT_NODE_TTL, Master
from yr_runtime.master_store import MetadataError, close_metadata, open_metadata
from yr_runtime import standby
from yr_runtime.recorder import Recorder
from yr_runtime.node.agent import Agent
from yr_runtime.proto import control_pb2_grpc as pbg
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.services import node_creates, tls as tls_creds, uplink
from yr_runtime.services.master import MasterService, TokenInterceptor
from yr_runtime.services.uplink import Uplink
from yr_runtime.wire.handshake import PROTOCOL_VERSION
from yr_runtime.wire import address, tls
from yr_runtime.local import cluster_tls, session as sessions
from yr_runtime.local.lifetime import die_with_parent

log = logging.getLogger("yr.daemon")
KEPT_LOGS = 20   # temporary runtimes whose logs stay in <session root>/logs-kept


DEFAULT_PORT = 22770    # `yr start --master` listens here, or on the next free port
PORTS_TRIED = 100
METRICS_EVERY = float(os.environ.get("YR_METRICS_INTERVAL", "1.0"))   # s between a node's metrics reports
LEAVE_GRACE = 3.0       # seconds a stopping node waits for its master to take note


class Daemon:
    """A master with its local node; or, with `join` (the master's HOST:PORT), a node that
    joins that master and runs its workers for it (no master, no gRPC server of its own)."""

    def __init__(self, session_dir: Path, capacity: Resources, warm: int, temporary: bool, owner_pid: int,
                 worker_tcp: str = "", node_id: str = "node-0", labels: dict | None = None, listen: str = "",
                 port: int = 0, join: str = "", data_host: str = "", dashboard: str = "",
                 dashboard_port: int = 0, etcd: str = "", node_ttl: float = DEFAULT_NODE_TTL):
        self.session_dir, self.temporary, self.owner_pid = session_dir, temporary, owner_pid
        self.pid = os.getpid()
        self.token = sessions.read_token(session_dir)
        self.listen, self.port, self.join, self.capacity = listen, port, join, capacity
        self.tcp_address = ""   # HOST:PORT the master listens on, once it does
        self.dashboard, self.dashboard_port, self.dashboard_url = dashboard, dashboard_port, ""
        self.identity = tls.identity_in(session_dir)   # TLS on TCP to/from the master, if the cluster uses it
        self.node_id, self.labels = node_id, dict(labels or {})
        if join:
            self.master = None
            self.uplink = Uplink()
            self.agent = Agent(node_id, session_dir, self.token, warm, self.uplink, worker_tcp=worker_tcp,
                               data_host=data_host)
            self.master_address = join   # the node's workers reach the master there
        else:
            self.etcd = etcd
            self.leader = standby.Standby(self, node_ttl)   # campaigns when the store is a shared etcd
            self.recorder = Recorder(node_ttl)
            self.master = Master(time.monotonic, self.request_stop, self.recorder, node_ttl)
            self.agent = Agent(node_id, session_dir, self.token, warm, self.master, worker_tcp=worker_tcp,
                               data_host=data_host)
            self.master.add_node(self.agent, capacity, self.labels)
            self.agent.on_create = node_creates.handler(self.master)   # creates without the gRPC hop
            self.master_address = f"unix:{sessions.socket_dir(session_dir) / 'master.sock'}"
        self._stop = asyncio.Event()
        self._stop_reason = ""
        self._tasks: set = set()

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    async def stopping(self) -> None:
        """Returns once the daemon is asked to stop."""
        await self._stop.wait()

    def _task(self, coro) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    # ---- main ---------------------------------------------------------------------------------------
    async def run(self, on_ready) -> None:
        if self.join:
            return await self._run_node(on_ready)
        self._on_signals()   # (a standby master stops on them too)
        store = await open_metadata(self.master, self.recorder, self.etcd, self.session_dir,
                                    lambda s: self.leader.lead(s, on_ready))
        if store is None:
            return   # stopped while standing by
        writer = asyncio.get_running_loop().create_task(self.recorder.run())
        try:
            await self._serve_master(on_ready)
        finally:
            writer.cancel()   # (it may be retrying a store that is gone: the last flush is bounded)
            await close_metadata(self.recorder, store, self.leader.resign)

    async def _serve_master(self, on_ready) -> None:
        server = grpc.aio.server(interceptors=[TokenInterceptor(self.token)] + self.leader.gate(), options=[
            ("grpc.max_receive_message_length", 512 << 20), ("grpc.max_send_message_length", 512 << 20),
            ("grpc.so_reuseport", 0)])   # a port in use must fail, not be shared with another master
        pbg.add_MasterServicer_to_server(MasterService(self.master, str(self.session_dir), self.pid), server)
        server.add_insecure_port(self.master_address)
        if self.listen:
            creds = tls_creds.server_credentials(self.identity) if self.identity else None
            self.tcp_address = _listen_tcp(server, self.listen, self.port, creds)
        await server.start()
        os.chmod(self.master_address[len("unix:"):], 0o600)
        await self.agent.start()
        web_runner = None
        if self.dashboard:   # (imported here: a temporary runtime serves no web page)
            from yr_runtime.observe import web
            web_runner, self.dashboard_url = await web.serve(self.master, self.token, self.dashboard,
                                                             self.dashboard_port)
        self._on_signals()
        self._task(self._ticker())
        on_ready(self)
        await self._stop.wait()
        log.info("stopping: %s", self._stop_reason)
        if not self.leader.stepped_down:   # (one that steps down leaves drivers and nodes to the next leader)
            self.master.end_sessions()
        joined = [link for link in self.master.links.values() if link is not self.agent]
        for link in joined if not self.leader.stepped_down else ():
            await link.shutdown()   # joined nodes stop with their master
        await self.agent.shutdown()
        if web_runner is not None:
            await web_runner.cleanup()
        await server.stop(1 if joined else 0)   # (a grace to send them that, only if there are any)

    def _on_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, f"received {signal.Signals(sig).name}")

    async def _run_node(self, on_ready) -> None:
        """A joined node: its agent, and its stream to the master, until either ends."""
        await self.agent.start()
        self._on_signals()
        register = pb.Register(
            node_id=self.node_id, protocol_version=PROTOCOL_VERSION, address=self.agent.data_host or self.agent.worker_tcp,
            resources=pb.Resources(cpu_millis=self.capacity.cpu, memory_mib=self.capacity.memory,
                                   custom=self.capacity.custom),
            labels=self.labels, session_dir=str(self.session_dir), pid=self.pid)
        link = asyncio.get_running_loop().create_task(uplink.serve(
            self.agent, self.uplink, self.join, self.token, register, lambda reg: on_ready(self), self.identity))
        link.add_done_callback(lambda t: self.request_stop(
            t.result() if not t.cancelled() and t.exception() is None else f"{t.exception()}"))
        self._task(self._node_ticker())
        await self._stop.wait()
        log.info("stopping: %s", self._stop_reason)
        self.uplink.leave()   # the master removes this node at once, without waiting for its lease
        await asyncio.wait([link], timeout=LEAVE_GRACE)
        link.cancel()
        await self.agent.shutdown()
        if link.done() and not link.cancelled() and isinstance(link.exception(), uplink.JoinError):
            raise link.exception()

    async def _node_ticker(self) -> None:
        warm = -1
        next_report = 0.0
        while True:
            await asyncio.sleep(0.5)
            if self.agent.status().warm_workers != warm:
                warm = self.agent.status().warm_workers
                self.uplink.status(warm)
            if time.monotonic() >= next_report:   # metrics piggyback on the node's stream
                next_report = time.monotonic() + METRICS_EVERY
                self.uplink.metrics(self.agent.metrics_report())

    async def _ticker(self) -> None:
        next_report = 0.0
        while True:
            await asyncio.sleep(0.1)
            self.master.tick()
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + METRICS_EVERY
                self.master.node_metrics(self.node_id, self.agent.metrics_report())
            if self.owner_pid and not sessions.pid_alive(self.owner_pid):
                self.request_stop(f"its owner process {self.owner_pid} is gone")


def _listen_tcp(server, host: str, port: int, creds=None) -> str:
    """Adds HOST:PORT to the server (port 0: DEFAULT_PORT or the next free one), with TLS if
    `creds` are given; returns it."""
    ports = [port] if port else range(DEFAULT_PORT, DEFAULT_PORT + PORTS_TRIED)
    for p in ports:
        try:
            added = server.add_secure_port(f"{host}:{p}", creds) if creds else server.add_insecure_port(f"{host}:{p}")
            if added == p:
                return f"{host}:{p}"
        except RuntimeError:
            continue
    tried = port or f"{DEFAULT_PORT}-{DEFAULT_PORT + PORTS_TRIED - 1}"
    raise OSError(f"cannot listen on {host}:{tried}: in use, or {host} is not an address of this machine")


def default_capacity(cpu: int | None, memory: int | None, custom: dict) -> Resources:
    cpu = cpu if cpu is not None else (os.cpu_count() or 1) * 1000
    memory = memory if memory is not None else psutil.virtual_memory().total // (1 << 20)
    return Resources(int(cpu), int(memory), {k: float(v) for k, v in custom.items()})


def _at_least(least: int):
    """An argparse type: an integer >= least, else a usage error naming the value."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {least}, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"expected an integer >= {least}, got {value}")
        return value
    return parse


def _positive(text: str) -> float:
    """An argparse type: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text}")
    return value


def _labels(text: str) -> dict:
    try:
        return placement.parse_labels(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m yr_runtime.daemon")
    p.add_argument("--temporary", action="store_true")
    p.add_argument("--owner-pid", type=int, default=0)
    p.add_argument("--cpu", type=_at_least(1), default=None, help="node capacity in millicores")
    p.add_argument("--memory", type=_at_least(1), default=None, help="node capacity in MiB")
    p.add_argument("--custom-resources", default="{}", help="JSON map of custom resources")
    p.add_argument("--warm", type=_at_least(0), default=2, help="idle Python workers kept ready")
    p.add_argument("--session-root", default=None, help="where the session directory is made (default: the user's)")
    p.add_argument("--mark-latest", action="store_true",
                   help="make it the runtime drivers find: `latest` in the user's session root")
    p.add_argument("--worker-tcp", default="", metavar="HOST",
                   help="workers also accept calls over TCP on HOST (a free port each) and are reached "
                        "there; off by default: on one machine no TCP port is opened")
    p.add_argument("--data-port", default="", metavar="HOST",
                   help="the node listens on one TCP data port at HOST (a free port) for callers of its "
                        "workers and object pulls from other nodes; off by default")
    p.add_argument("--node-id", default="node-0", help="this node's id in the cluster")
    p.add_argument("--labels", type=_labels, default={}, metavar="K=V[,K=V...]", help="this node's labels")
    p.add_argument("--listen", default="", metavar="HOST",
                   help="the master also listens for nodes and remote drivers on HOST (TCP); off by default")
    p.add_argument("--port", type=_at_least(0), default=0,
                   help=f"with --listen: the port (default {DEFAULT_PORT} or the next free one)")
    p.add_argument("--join", default="", metavar="HOST:PORT", help="run a node that joins the master there")
    p.add_argument("--token-file", default="", help="the file holding the cluster token, or the master's join "
                                                    "bundle (token and TLS certificates); with --join: required; "
                                                    "for a master: keep that token, e.g. after a restart")
    p.add_argument("--tls", action="store_true", help="with --listen: make a cluster CA and require mutual TLS "
                                                      "on the TCP port (docs/architecture.md \"Security\")")
    p.add_argument("--etcd", default="", metavar="auto|URL[,URL...]",
                   help="the master keeps the cluster's metadata in etcd: `auto` starts one in the session "
                        "directory, URLs name an existing cluster; default: in the master's memory")
    p.add_argument("--node-lease-ttl", type=_positive, default=DEFAULT_NODE_TTL, metavar="SECONDS",
                   help=f"a joined node that sends no heartbeat for this long is declared dead "
                        f"(default {DEFAULT_NODE_TTL:g})")
    p.add_argument("--dashboard", default="", metavar="HOST",
                   help="the master serves its dashboard and /metrics on HOST (HTTP); off by default")
    p.add_argument("--dashboard-port", type=_at_least(0), default=0,
                   help="with --dashboard: the port (default 22870 or the next free one)")
    args = p.parse_args(argv)
    if args.tls and not args.listen:
        p.error("--tls is for a master's TCP port (--listen); a joining node follows its join bundle")
    if args.join and not args.token_file:
        p.error("--join needs --token-file (the cluster token is never on a command line)")
    for flag, host in (("--worker-tcp", args.worker_tcp), ("--data-port", args.data_port)):
        if host:   # fail here, not in every worker
            try:
                address.parse(address.tcp(host, 0))
                socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
            except (ValueError, OSError) as e:
                p.error(f"{flag} {host!r}: {e}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.temporary:
        die_with_parent(args.owner_pid, signal.SIGTERM)
    root = Path(args.session_root) if args.session_root else sessions.default_root()
    session_dir = _make_session(root, args)
    logging.basicConfig(filename=session_dir / "logs" / "daemon.log", level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    capacity = default_capacity(args.cpu, args.memory, json.loads(args.custom_resources))
    daemon = Daemon(session_dir, capacity, args.warm, args.temporary, args.owner_pid, args.worker_tcp,
                    args.node_id, args.labels, args.listen, args.port, args.join, args.data_port,
                    args.dashboard, args.dashboard_port, args.etcd, args.node_lease_ttl)

    def ready(d: Daemon) -> None:
        sessions.write_info(sessions.SessionInfo(
            session_dir=str(session_dir), master_address=d.master_address,
            agent_address=d.agent.address, pid=d.pid, temporary=args.temporary,
            tcp_address=d.tcp_address, node_id=d.node_id, joined=d.join,
            data_address=d.agent.data_address, dashboard=d.dashboard_url))
        if args.mark_latest:
            sessions.mark_latest(session_dir)   # in the user's root, where status/stop/init look
        sys.stdout.write(f"YR_READY {session_dir}\n")
        sys.stdout.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    try:
        asyncio.run(daemon.run(ready))
    except (uplink.JoinError, OSError, MetadataError) as e:   # said on stdout, where `yr start` waits for YR_READY
        log.error("%s", e)
        sys.stdout.write(f"YR_FAILED {e}\n")
        sys.stdout.flush()
        sys.exit(1)
    finally:
        logging.raiseExceptions = False   # late log lines must not fail once the session is gone
        logging.shutdown()
        sessions.clear_latest(session_dir)
        sessions.remove_socket_dir(session_dir)
        cluster_tls.forget_secrets(session_dir)
        if args.temporary:
            keep_logs(session_dir, root)
            shutil.rmtree(session_dir, ignore_errors=True)


def _make_session(root: Path, args) -> Path:
    """The session directory: a joined node's with its cluster's token (and certificates, from a
    join bundle); a --tls master's with a new cluster CA; a master given a standby bundle with
    that bundle's token and certificates (a standby of a --tls cluster: the same CA). A bad
    token file ends the daemon."""
    # a master given --token-file keeps that token (a restarted master, docs/faults.md)
    kept = Path(args.token_file).read_bytes().strip() if args.token_file and not args.join else None
    standby = kept is not None and kept.startswith(b"{")   # a bundle, not a bare token
    if not (args.join or args.tls or standby):
        return sessions.make_session_dir(root, token=kept)
    from yr_runtime.local import pki   # `cryptography` costs ~0.1 s to import: not for temporary runtimes
    try:
        creds = pki.read_credentials(Path(args.token_file)) if args.join or standby else None
        if standby:
            pki.check_serves_as_master(creds, Path(args.token_file))
    except pki.BundleError as e:
        sys.stdout.write(f"YR_FAILED {e}\n")
        sys.exit(1)
    session_dir = sessions.make_session_dir(root, token=creds.token if creds else kept)
    if creds is not None and creds.tls:
        pki.write_identity(session_dir, creds)
    elif args.tls:
        pki.make_cluster(session_dir, sessions.read_token(session_dir))
    return session_dir


def keep_logs(session_dir: Path, root: Path, keep: int = KEPT_LOGS) -> None:
    """A temporary runtime's session directory goes away with it; its logs (daemon.log,
    worker-*.log) move to <root>/logs-kept/<session name>, where the last `keep` stay."""
    kept = root / "logs-kept"
    try:
        kept.mkdir(mode=0o700, exist_ok=True)
        os.replace(session_dir / "logs", kept / session_dir.name)
        runs = sorted(kept.iterdir(), key=lambda p: (p.stat().st_mtime, p.name))
    except OSError:
        return   # keeping logs is a courtesy: never fail the shutdown over it
    for old in runs[:-keep] if keep > 0 else runs:
        shutil.rmtree(old, ignore_errors=True)


if __name__ == "__main__":
    main()

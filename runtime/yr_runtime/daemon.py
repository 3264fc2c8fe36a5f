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
from yr_runtime.master import Master
from yr_runtime.node.agent import Agent
from yr_runtime.proto import control_pb2_grpc as pbg
from yr_runtime.services.master import MasterService, TokenInterceptor
from yr_runtime.wire import address
from yr_runtime.local import session as sessions
from yr_runtime.local.lifetime import die_with_parent

log = logging.getLogger("yr.daemon")
KEPT_LOGS = 20   # temporary runtimes whose logs stay in <session root>/logs-kept


class Daemon:
    def __init__(self, session_dir: Path, capacity: Resources, warm: int, temporary: bool, owner_pid: int,
                 worker_tcp: str = "", node_id: str = "node-0", labels: dict | None = None):
        self.session_dir, self.temporary, self.owner_pid = session_dir, temporary, owner_pid
        self.pid = os.getpid()
        self.token = sessions.read_token(session_dir)
        self.master = Master(time.monotonic, self.request_stop)
        self.agent = Agent(node_id, session_dir, self.token, warm, self.master, worker_tcp=worker_tcp)
        self.master.add_node(self.agent, capacity, labels)
        self.master_address = f"unix:{sessions.socket_dir(session_dir) / 'master.sock'}"
        self._stop = asyncio.Event()
        self._stop_reason = ""
        self._tasks: set = set()

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    def _task(self, coro) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    # ---- main ---------------------------------------------------------------------------------------
    async def run(self, on_ready) -> None:
        server = grpc.aio.server(interceptors=[TokenInterceptor(self.token)], options=[
            ("grpc.max_receive_message_length", 512 << 20), ("grpc.max_send_message_length", 512 << 20)])
        pbg.add_MasterServicer_to_server(MasterService(self.master, str(self.session_dir), self.pid), server)
        server.add_insecure_port(self.master_address)
        await server.start()
        os.chmod(self.master_address[len("unix:"):], 0o600)
        await self.agent.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, f"received {signal.Signals(sig).name}")
        self._task(self._ticker())
        on_ready(self)
        await self._stop.wait()
        log.info("stopping: %s", self._stop_reason)
        self.master.end_sessions()
        await self.agent.shutdown()
        await server.stop(0)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            self.master.tick()
            if self.owner_pid and not sessions.pid_alive(self.owner_pid):
                self.request_stop(f"its owner process {self.owner_pid} is gone")


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
    p.add_argument("--node-id", default="node-0", help="this node's id in the cluster")
    p.add_argument("--labels", type=_labels, default={}, metavar="K=V[,K=V...]", help="this node's labels")
    args = p.parse_args(argv)
    if args.worker_tcp:   # fail here, not in every worker
        try:
            address.parse(address.tcp(args.worker_tcp, 0))
            socket.getaddrinfo(args.worker_tcp, 0, type=socket.SOCK_STREAM)
        except (ValueError, OSError) as e:
            p.error(f"--worker-tcp {args.worker_tcp!r}: {e}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.temporary:
        die_with_parent(args.owner_pid, signal.SIGTERM)
    root = Path(args.session_root) if args.session_root else sessions.default_root()
    session_dir = sessions.make_session_dir(root)
    logging.basicConfig(filename=session_dir / "logs" / "daemon.log", level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    capacity = default_capacity(args.cpu, args.memory, json.loads(args.custom_resources))
    daemon = Daemon(session_dir, capacity, args.warm, args.temporary, args.owner_pid, args.worker_tcp,
                    args.node_id, args.labels)

    def ready(d: Daemon) -> None:
        sessions.write_info(sessions.SessionInfo(
            session_dir=str(session_dir), master_address=d.master_address,
            agent_address=d.agent.address, pid=d.pid, temporary=args.temporary))
        if args.mark_latest:
            sessions.mark_latest(session_dir)   # in the user's root, where status/stop/init look
        sys.stdout.write(f"YR_READY {session_dir}\n")
        sys.stdout.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    try:
        asyncio.run(daemon.run(ready))
    finally:
        logging.raiseExceptions = False   # late log lines must not fail once the session is gone
        logging.shutdown()
        sessions.clear_latest(session_dir)
        sessions.remove_socket_dir(session_dir)
        if args.temporary:
            keep_logs(session_dir, root)
            shutil.rmtree(session_dir, ignore_errors=True)


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

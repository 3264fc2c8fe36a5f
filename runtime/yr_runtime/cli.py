"""The `yr` command: start, stop and inspect a runtime on this machine."""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import click
import psutil

from yr_runtime.core import placement
from yr_runtime.local import session as sessions
from yr_runtime.local import cluster_tls
from yr_runtime.wire import masters

READY_TIMEOUT = 30.0
MAX_DEAD_SHOWN = 20   # `yr status` lists the last ones; the count says how many there are


def parse_set(items: tuple[str, ...]) -> dict:
    """`-s KEY=<TOML literal>` settings, e.g. function_agent.args.custom_resources="{\\"ssd\\":1}"."""
    out = {}
    for item in items:
        key, sep, literal = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE (VALUE a TOML literal)", param_hint="-s/--set")
        try:
            value = tomllib.loads(f"v = {literal}")["v"]
        except tomllib.TOMLDecodeError as e:
            raise click.BadParameter(f"{item!r}: the value is not a TOML literal ({e})", param_hint="-s/--set")
        out[key.strip()] = value
    return out


def settings_to_daemon_args(settings: dict) -> list[str]:
    args: list[str] = []
    for key, value in settings.items():
        short = key.split(".")[-1]
        if short == "custom_resources":
            data = json.loads(value) if isinstance(value, str) else value
            if not isinstance(data, dict) or not all(isinstance(v, (int, float)) and v > 0 for v in data.values()):
                raise click.BadParameter(f"{key}: expected a JSON map of name -> positive amount, got {value!r}")
            args += ["--custom-resources", json.dumps(data)]
        elif short in ("cpu_num", "cpu"):
            args += ["--cpu", str(_count(key, value, 1))]
        elif short in ("memory_num", "memory"):
            args += ["--memory", str(_count(key, value, 1))]
        elif short in ("warm_workers", "warm"):
            args += ["--warm", str(_count(key, value, 0))]
        elif short == "worker_tcp":
            args += ["--worker-tcp", str(value)]
        else:
            raise click.BadParameter(f"unknown setting {key!r} (known: function_agent.args.custom_resources, "
                                     "values.cpu_num, values.memory_num, values.warm_workers, values.worker_tcp)", param_hint="-s/--set")
    return args


def _count(key: str, value, least: int) -> int:
    """A capacity setting: an integer >= least (a node with -5 millicores is a typo, not a node)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise click.BadParameter(f"{key}: expected an integer >= {least}, got {value!r}", param_hint="-s/--set")
    return value


class _Cli(click.Group):
    """Turns every error a command meets into a one-line message and a non-zero exit: a user
    of the command line never sees a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except OSError as e:
            where = f": {e.filename}" if e.filename and str(e.filename) not in str(e) else ""
            raise click.ClickException(f"{e.strerror or e}{where}") from None
        except Exception as e:
            raise click.ClickException(f"{type(e).__name__}: {e}") from None


@click.group(cls=_Cli)
@click.version_option(package_name="yr")
def main() -> None:
    """yr: a runtime for stateful and stateless functions."""


def _checked_labels(ctx, param, text: str) -> str:
    try:
        placement.parse_labels(text)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--labels") from None
    return text


@main.command()
@click.option("--master", is_flag=True, help="Start a master with its node agent; it also listens for nodes "
                                            "and remote drivers on --node-ip:--port.")
@click.option("--master_address", "--master-address", "master_address", default=None, metavar="IP:PORT[,IP:PORT]",
              help="Start a node that joins the master listening there (`yr start --master` prints it); "
                   "several: a leader and its standby masters (--etcd), the node follows whichever leads.")
@click.option("--node-ip", default=None, help="The address this node (and a master: its join port) listens on "
                                              "(default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="The master's join port (default 22770 or the next free one).")
@click.option("--token-file", default=None, type=click.Path(dir_okay=False),
              help="With --master_address: the cluster token's file (default: $YR_CLUSTER_TOKEN_FILE, else "
                   "found in the master's session on this machine). With --master: keep the token of that "
                   "file (a master restarted for a running cluster; default: a new token).")
@click.option("--node-id", default=None, help="With --master_address: this node's id (default node-<random>).")
@click.option("--tls/--no-tls", default=None,
              help="With --master: mutual TLS between machines, with a cluster CA made in the session (default: on "
                   "when --node-ip is not a loopback address). A joining node follows its join bundle.")
@click.option("-s", "--set", "settings", multiple=True, metavar="KEY=VALUE",
              help='Setting as a TOML literal, e.g. -s \'function_agent.args.custom_resources="{\\"ssd\\":1}"\'.')
@click.option("--cpu", type=click.IntRange(min=1), default=None,
              help="Node capacity in millicores, >= 1 (default: cores x 1000).")
@click.option("--memory", type=click.IntRange(min=1), default=None,
              help="Node capacity in MiB, >= 1 (default: the machine's memory).")
@click.option("--labels", default="", metavar="K=V[,K=V...]", callback=_checked_labels,
              help="This node's labels, for resource affinity.")
@click.option("--dashboard-host", default="127.0.0.1", show_default=True,
              help="With --master: where the dashboard and /metrics listen (HTTP; '' for none).")
@click.option("--dashboard-port", type=click.IntRange(1, 65535), default=None,
              help="With --master: the dashboard's port (default 22870 or the next free one).")
@click.option("--etcd", default=None, metavar="auto|URL[,URL...]",
              help="With --master: keep the cluster's metadata in etcd (`auto`: start one in the session "
                   "directory; URLs: an existing cluster, which outlives a master restart). Default: in memory.")
@click.option("--node-lease-ttl", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="With --master: a joined node silent this long is declared dead (default 6).")
@click.option("--block", type=click.Choice(["true", "false"]), default="false", help="Stay in the foreground.")
@click.option("--log-dir-prefix", default=None,
              help="Where the session directory (with its logs) is made; default: your session root "
                   "($YR_SESSION_ROOT, $XDG_RUNTIME_DIR/yr or /tmp/yr-<uid>). Drivers, status and stop "
                   "find the runtime either way.")
def start(master: bool, master_address, node_ip, port, token_file, node_id, tls, settings, cpu, memory, labels,
          dashboard_host, dashboard_port, etcd, node_lease_ttl, block, log_dir_prefix) -> None:
    """Start a runtime on this machine (--master), or a node that joins one (--master_address);
    drivers' yr.init() on this machine then find the master by themselves."""
    if master == bool(master_address):
        raise click.UsageError("say either `yr start --master` (start a master) or "
                               "`yr start --master_address IP:PORT` (join one)")
    if master and node_id:
        raise click.UsageError("--node-id is for a joining node (--master_address)")
    if master_address and tls is not None:
        raise click.UsageError("--tls/--no-tls are for the master: a joining node uses TLS when its join bundle "
                               "(--token-file) holds certificates")
    if master_address and port:
        raise click.UsageError("--port is the master's join port: a joining node takes free ports of its own")
    if master_address and (etcd is not None or node_lease_ttl is not None):
        raise click.UsageError("--etcd and --node-lease-ttl are the master's (yr start --master)")
    daemon_args = settings_to_daemon_args(parse_set(settings))
    user_root = sessions.ensure_root()
    root = sessions.ensure_root(Path(log_dir_prefix).absolute()) if log_dir_prefix else user_root
    if master:
        running = sessions.find_running(user_root)
        if running is not None:
            raise click.ClickException(f"a yr runtime is already running (pid {running.pid}, "
                                       f"{running.session_dir}); stop it with `yr stop` first")
    for stale in {*sessions.remove_stale(user_root), *sessions.remove_stale(root)}:
        click.echo(f"removed the stale session {stale} (its runtime is gone)")
    cmd = [sys.executable, "-m", "yr_runtime.daemon", "--session-root", str(root)]
    if master:
        # It listens on TCP for nodes anyway; its data port lets them reach its workers and objects.
        cmd += ["--mark-latest", "--listen", node_ip or "127.0.0.1", "--data-port", node_ip or "127.0.0.1"]
        cmd += ["--port", str(port)] if port else []
        if cluster_tls.wanted(tls, node_ip or "127.0.0.1"):
            cmd += ["--tls"]
        if dashboard_host:
            cmd += ["--dashboard", dashboard_host] + (["--dashboard-port", str(dashboard_port)] if dashboard_port else [])
        if token_file:
            if not Path(token_file).is_file():
                raise click.ClickException(f"the cluster token file {token_file} does not exist")
            cmd += ["--token-file", str(Path(token_file).absolute())]
        cmd += (["--etcd", etcd] if etcd else []) + (["--node-lease-ttl", str(node_lease_ttl)] if node_lease_ttl else [])
    else:
        _check_address(master_address)
        cmd += ["--join", master_address, "--token-file", _token_file(master_address, token_file, user_root),
                "--node-id", node_id or f"node-{secrets.token_hex(3)}", "--data-port", node_ip or "127.0.0.1"]
    cmd += daemon_args
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    if memory is not None:
        cmd += ["--memory", str(memory)]
    if labels:
        cmd += ["--labels", labels]
    if block == "true":
        os.execv(sys.executable, cmd)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    line = proc.stdout.readline().decode(errors="replace").strip()
    if line.startswith("YR_FAILED "):
        proc.wait(10)
        raise click.ClickException(line.split(" ", 1)[1])
    if not line.startswith("YR_READY "):
        proc.kill()
        raise click.ClickException(f"the runtime did not start (it said {line!r}); see {root}/*/logs/daemon.log")
    session_dir = line.split(" ", 1)[1]
    info = sessions.read_info(Path(session_dir))
    if master_address:
        click.echo(f"yr node {info.node_id} joined the master at {master_address} (pid {proc.pid}).\n"
                   f"  session: {session_dir}\n"
                   f"  status: yr status    stop this node: yr stop --node {info.node_id}")
        return
    click.echo(f"yr runtime started (pid {proc.pid}).\n"
               f"  join another node: yr start --master_address {info.tcp_address}\n"
               + cluster_tls.join_hint(Path(session_dir), info.tcp_address) +
               f"  session: {session_dir}\n"
               f"  your drivers on this machine connect by themselves: yr.init()\n"
               f"  or explicitly: yr.init(yr.Config(server_address={session_dir!r}))\n"
               f"  status: yr status    stop: yr stop"
               + (f"\n  dashboard: {info.dashboard}/login?token={info.token.decode()}\n"
                  f"  metrics (Prometheus): {info.dashboard}/metrics (Authorization: Bearer <session token>)"
                  if info.dashboard else ""))


def _check_address(address: str) -> None:
    """IP:PORT, or a list IP:PORT,IP:PORT (a leader and its standby masters: wire/masters.py)."""
    try:
        masters.split(address)
    except ValueError as e:
        raise click.BadParameter(f"{e}", param_hint="--master_address") from None


def _token_file(master_address: str, token_file: str | None, user_root: Path) -> str:
    """Where the cluster token is: --token-file, $YR_CLUSTER_TOKEN_FILE, or the session of the
    master on this machine that listens on master_address. Only its path goes on the daemon's
    command line, never the token."""
    path = token_file or os.environ.get("YR_CLUSTER_TOKEN_FILE")
    if path:
        if not Path(path).is_file():
            raise click.ClickException(f"the cluster token file {path} does not exist")
        return str(Path(path).absolute())
    found = sessions.find_master(master_address, user_root)
    if found is not None and (Path(found.session_dir) / cluster_tls.BUNDLE_FILE).is_file():
        return str(Path(found.session_dir) / cluster_tls.BUNDLE_FILE)   # a --tls master: token and certificates
    if found is None:
        raise click.ClickException(
            f"no master listening on {master_address} runs on this machine in {user_root}; for a master "
            "elsewhere give its token file: --token-file PATH or $YR_CLUSTER_TOKEN_FILE "
            "(the file `join.bundle`, or `token` without TLS, in the master's session directory)")
    return str(Path(found.session_dir) / sessions.TOKEN_FILE)


def _connect(session_file: str | None):
    if session_file:
        path = Path(session_file)
        session_dir = path.parent if path.name == sessions.INFO_FILE else path
        try:
            return sessions.read_info(session_dir)
        except OSError as e:
            raise click.ClickException(f"cannot read the yr session {session_file}: {e.strerror or e}") from None
        except (ValueError, TypeError) as e:
            raise click.ClickException(f"{session_file} is not a yr session ({e})") from None
    info = sessions.find_running()
    if info is None:
        raise click.ClickException(f"no yr runtime is running in your session root {sessions.default_root()} "
                                   "(start one with `yr start --master`)")
    return info


@main.command()
@click.option("-f", "--file", "session_file", default=None, help="A session directory or its session.json.")
@click.option("--json", "as_json", is_flag=True, help="Print the same as JSON.")
def status(session_file, as_json) -> None:
    """Show nodes, resources and instances of the running runtime."""
    import grpc
    from yr_runtime.proto import control_pb2 as pb
    from yr_runtime.proto import control_pb2_grpc as pbg
    from yr_runtime.services import tls as tls_creds
    info = _connect(session_file)
    channel = tls_creds.channel(info.master_address, info.session_dir)   # a joined node's: TCP, maybe TLS
    try:
        st = pbg.MasterStub(channel).Status(pb.StatusRequest(), timeout=10,
                                            metadata=(("yr-token", info.token.decode()),))
    except grpc.RpcError as e:
        raise click.ClickException(f"the runtime (pid {info.pid}) did not answer: {e.details()}")
    finally:
        channel.close()
    if as_json:
        from google.protobuf.json_format import MessageToDict
        data = MessageToDict(st, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
        data["tcp_address"] = info.tcp_address
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"runtime pid {st.pid}, session {st.session_dir}, warm workers {st.warm_workers}"
               + (f", joined at {info.tcp_address}" if info.tcp_address else ""))
    click.echo(f"nodes: {len(st.nodes)}")
    for n in st.nodes:
        where = f"  {n.address}" if n.address else ""
        labels = f"  labels {','.join(f'{k}={v}' for k, v in sorted(n.labels.items()))}" if n.labels else ""
        alive = sum(1 for i in st.instances if i.node_id == n.node_id and i.state != "DEAD")
        click.echo(f"  {n.node_id}{where}  {n.state or 'ALIVE'}{labels}  "
                   f"cpu {n.available.cpu_millis}/{n.total.cpu_millis} millicores available  "
                   f"memory {n.available.memory_mib}/{n.total.memory_mib} MiB available  instances {alive}")
        for k in sorted(n.total.custom):
            click.echo(f"    {k}: {n.available.custom.get(k, 0):g}/{n.total.custom[k]:g} available")
    _print_instances([i for i in st.instances if not i.hidden])
    _print_executors([i for i in st.instances if i.hidden and i.state != "DEAD"])


def _print_instances(shown) -> None:
    """Live instances first, then the last MAX_DEAD_SHOWN dead ones (a long-running runtime
    remembers up to a thousand)."""
    alive = [i for i in shown if i.state != "DEAD"]
    dead = [i for i in shown if i.state == "DEAD"]
    click.echo(f"instances: {len(alive)} alive, {len(dead)} dead")
    for i in alive:
        _print_instance(i)
    if len(dead) > MAX_DEAD_SHOWN:
        click.echo(f"  ... {len(dead) - MAX_DEAD_SHOWN} more dead (older) not shown")
    for i in dead[-MAX_DEAD_SHOWN:]:
        _print_instance(i)


def _print_instance(i) -> None:
    name = f" name={i.namespace + '/' if i.namespace else ''}{i.name}" if i.name else ""
    why = f"  ({i.exit_reason})" if i.state == "DEAD" else ""
    click.echo(f"  {i.instance_id}  {i.class_name}  {i.state}  pid={i.pid}  node={i.node_id}{name}  "
               f"cpu={i.resources.cpu_millis} mem={i.resources.memory_mib}{why}")


def _print_executors(executors) -> None:
    """Hidden instances that run stateless calls, alive until idle for their driver's recycle_time."""
    click.echo(f"stateless executors: {len(executors)} alive (ended after the driver's recycle_time idle)")
    for i in executors:
        click.echo(f"  {i.instance_id}  {i.class_name}  {i.state}  pid={i.pid}  job={i.job_id}  "
                   f"cpu={i.resources.cpu_millis} mem={i.resources.memory_mib}")


@main.command()
@click.option("-f", "--file", "session_file", default=None, help="A session directory or its session.json.")
@click.option("--force", is_flag=True, help="Kill at once (SIGKILL) instead of a clean stop.")
@click.option("--timeout", default=20.0, show_default=True, help="Seconds to wait for a clean stop.")
@click.option("--node", "node_id", default=None, help="Stop only this node (one joined on this machine).")
def stop(session_file, force, timeout, node_id) -> None:
    """Stop every yr runtime and node started on this machine (or one: -f, --node) and their workers."""
    if session_file:
        return _stop_one(_connect(session_file), force, timeout)
    running = sessions.sessions_of()
    latest = sessions.find_running()   # made elsewhere with --log-dir-prefix, found through `latest`
    if latest is not None and latest.session_dir not in {i.session_dir for i in running}:
        running.append(latest)
    if node_id is not None:
        chosen = [i for i in running if i.node_id == node_id and i.joined]
        if not chosen:
            master = " (the master's own node stops with the master: `yr stop`)" if any(
                i.node_id == node_id for i in running) else ""
            raise click.ClickException(f"no node {node_id!r} joined from this machine{master}")
        running = chosen
    if not running:
        _connect(None)   # says that nothing runs, and where it looked
    for info in sorted(running, key=lambda i: not i.joined):   # nodes first, then their masters
        _stop_one(info, force, timeout)


def _stop_one(info, force: bool, timeout: float) -> None:
    proc = sessions.daemon_process(info)
    if proc is None:   # its pid is gone, or reused by a process that is not this session's daemon
        sessions.clear_latest(Path(info.session_dir))
        raise click.ClickException(f"the runtime of {info.session_dir} is not running (pid {info.pid} is gone "
                                   "or belongs to another process): nothing to stop")
    proc.send_signal(signal.SIGKILL if force else signal.SIGTERM)   # psutil refuses a reused pid
    try:
        _wait_stopping(proc, timeout, f"stopping {'node ' + info.node_id if info.joined else 'the runtime'}")
    except psutil.TimeoutExpired:
        proc.kill()
        click.echo(f"the runtime (pid {info.pid}) did not stop within {timeout:g}s and was killed")
    sessions.clear_latest(Path(info.session_dir))
    what = f"yr node {info.node_id}" if info.joined else "yr runtime"
    click.echo(f"{what} stopped (pid {info.pid})")


def _wait_stopping(proc, timeout: float, what: str) -> None:
    """Waits for the daemon to exit, showing how many of its workers are left meanwhile."""
    from yr_runtime.observe.progress import Progress
    shown, deadline = Progress(what), time.monotonic() + timeout
    while True:
        try:
            proc.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            shown.done("stopped")
            return
        except psutil.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
        try:
            shown.update(f"{len(proc.children(recursive=True))} worker processes left")
        except psutil.Error:
            pass


from yr_runtime.observe import commands as _observe_commands   # noqa: E402  (yr list, yr logs)
_observe_commands.register(main)

if __name__ == "__main__":
    main()

"""The `yr` command: start, stop and inspect a runtime on this machine."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import click

from yr_runtime.wire import session as sessions

READY_TIMEOUT = 30.0


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


@click.group()
@click.version_option(package_name="yr")
def main() -> None:
    """yr: a runtime for stateful and stateless functions."""


@main.command()
@click.option("--master", is_flag=True, help="Start a master with its node agent (the only mode for now).")
@click.option("-s", "--set", "settings", multiple=True, metavar="KEY=VALUE",
              help='Setting as a TOML literal, e.g. -s \'function_agent.args.custom_resources="{\\"ssd\\":1}"\'.')
@click.option("--cpu", type=click.IntRange(min=1), default=None,
              help="Node capacity in millicores, >= 1 (default: cores x 1000).")
@click.option("--memory", type=click.IntRange(min=1), default=None,
              help="Node capacity in MiB, >= 1 (default: the machine's memory).")
@click.option("--block", type=click.Choice(["true", "false"]), default="false", help="Stay in the foreground.")
@click.option("--log-dir-prefix", default=str(sessions.DEFAULT_ROOT), show_default=True,
              help="Where session directories are made.")
def start(master: bool, settings, cpu, memory, block, log_dir_prefix) -> None:
    """Start a runtime on this machine; drivers' yr.init() then find it by themselves."""
    if not master:
        raise click.UsageError("joining another master is not supported yet: use `yr start --master`")
    root = Path(log_dir_prefix)
    running = sessions.find_running(root)
    if running is not None:
        raise click.ClickException(f"a yr runtime is already running (pid {running.pid}, {running.session_dir}); "
                                   "stop it with `yr stop` first")
    for stale in sessions.remove_stale(root):
        click.echo(f"removed the stale session {stale} (its runtime is gone)")
    cmd = [sys.executable, "-m", "yr_runtime.daemon", "--mark-latest", "--session-root", str(root)]
    cmd += settings_to_daemon_args(parse_set(settings))
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    if memory is not None:
        cmd += ["--memory", str(memory)]
    if block == "true":
        os.execv(sys.executable, cmd)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    line = proc.stdout.readline().decode(errors="replace").strip()
    if not line.startswith("YR_READY "):
        proc.kill()
        raise click.ClickException(f"the runtime did not start (it said {line!r}); see {root}/*/logs/daemon.log")
    session_dir = line.split(" ", 1)[1]
    click.echo(f"yr runtime started (pid {proc.pid}).\n"
               f"  session: {session_dir}\n"
               f"  drivers on this machine connect by themselves: yr.init()\n"
               f"  or explicitly: yr.init(yr.Config(server_address={session_dir!r}))\n"
               f"  status: yr status    stop: yr stop")


def _connect(session_file: str | None):
    if session_file:
        info = sessions.read_info(Path(session_file).parent if session_file.endswith(".json") else Path(session_file))
    else:
        info = sessions.find_running()
    if info is None:
        raise click.ClickException("no yr runtime is running (start one with `yr start --master`)")
    return info


@main.command()
@click.option("-f", "--file", "session_file", default=None, help="A session directory or its session.json.")
def status(session_file) -> None:
    """Show nodes, resources and instances of the running runtime."""
    import grpc
    from yr_runtime.proto import control_pb2 as pb
    from yr_runtime.proto import control_pb2_grpc as pbg
    info = _connect(session_file)
    channel = grpc.insecure_channel(info.master_address)
    try:
        st = pbg.MasterStub(channel).Status(pb.StatusRequest(), timeout=10,
                                            metadata=(("yr-token", info.token.decode()),))
    except grpc.RpcError as e:
        raise click.ClickException(f"the runtime (pid {info.pid}) did not answer: {e.details()}")
    finally:
        channel.close()
    click.echo(f"runtime pid {st.pid}, session {st.session_dir}, warm workers {st.warm_workers}")
    click.echo("nodes:")
    for n in st.nodes:
        click.echo(f"  {n.node_id}  cpu {n.available.cpu_millis}/{n.total.cpu_millis} millicores available  "
                   f"memory {n.available.memory_mib}/{n.total.memory_mib} MiB available")
        for k in sorted(n.total.custom):
            click.echo(f"    {k}: {n.available.custom.get(k, 0):g}/{n.total.custom[k]:g} available")
    shown = [i for i in st.instances if not i.hidden]
    click.echo(f"instances: {sum(1 for i in shown if i.state != 'DEAD')} alive, "
               f"{sum(1 for i in shown if i.state == 'DEAD')} dead")
    for i in shown:
        name = f" name={i.namespace + '/' if i.namespace else ''}{i.name}" if i.name else ""
        why = f"  ({i.exit_reason})" if i.state == "DEAD" else ""
        click.echo(f"  {i.instance_id}  {i.class_name}  {i.state}  pid={i.pid}{name}  "
                   f"cpu={i.resources.cpu_millis} mem={i.resources.memory_mib}{why}")


@main.command()
@click.option("-f", "--file", "session_file", default=None, help="A session directory or its session.json.")
@click.option("--force", is_flag=True, help="Kill at once (SIGKILL) instead of a clean stop.")
@click.option("--timeout", default=20.0, show_default=True, help="Seconds to wait for a clean stop.")
def stop(session_file, force, timeout) -> None:
    """Stop the running runtime and every worker it started."""
    info = _connect(session_file)
    os.kill(info.pid, signal.SIGKILL if force else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while sessions.pid_alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if sessions.pid_alive(info.pid):
        os.kill(info.pid, signal.SIGKILL)
        click.echo(f"the runtime (pid {info.pid}) did not stop within {timeout:g}s and was killed")
    sessions.clear_latest(Path(info.session_dir))
    click.echo(f"yr runtime stopped (pid {info.pid})")


if __name__ == "__main__":
    main()

"""`yr list` and `yr logs`: what runs where, and what a worker printed, from any node
(the master asks the instance's node). Registered on the `yr` group by cli.py."""
from __future__ import annotations

import json
import sys
import time

import click

from yr_runtime.observe.state import KINDS

RPC_TIMEOUT = 15.0
FOLLOW_EVERY = 0.5   # s between two reads of a followed log

# The columns `yr list KIND` prints (--json prints every column).
COLUMNS = {
    "nodes": ("node_id", "address", "state", "cpu_used", "cpu_total", "memory_used_mib", "memory_total_mib",
              "instances", "warm_workers", "objects", "object_bytes"),
    "instances": ("instance_id", "class", "name", "namespace", "node_id", "state", "restarts", "cpu", "memory_mib",
                  "job_id", "exit_reason"),
    "functions": ("function", "executors", "calls_started", "calls_finished", "calls_failed"),
    "objects": ("object_id", "node_id", "size_bytes", "job_id", "error"),
    "jobs": ("job_id", "state", "driver_pid", "instances_alive", "instances"),
}


def _stub(session_file):
    import grpc
    from yr_runtime import cli
    from yr_runtime.proto import control_pb2_grpc as pbg
    info = cli._connect(session_file)
    channel = grpc.insecure_channel(info.master_address)
    return info, channel, pbg.MasterStub(channel), (("yr-token", info.token.decode()),)


def _filters(items) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected COLUMN=VALUE", param_hint="--filter")
        out[key] = value
    return out


@click.command("list")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--filter", "filters", multiple=True, metavar="COLUMN=VALUE",
              help="Only rows whose column equals the value (repeatable: all must hold), e.g. state=RUNNING.")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="At most this many rows (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as a JSON list with every column.")
@click.option("-f", "--file", "session_file", default=None, help="A session directory or its session.json.")
def list_cmd(kind, filters, limit, as_json, session_file) -> None:
    """List the cluster's nodes, instances (live first), functions, objects or jobs."""
    import grpc
    from yr_runtime.proto import control_pb2 as pb
    info, channel, stub, md = _stub(session_file)
    try:
        reply = stub.List(pb.ListRequest(kind=kind, filters=_filters(filters), limit=limit),
                          timeout=RPC_TIMEOUT, metadata=md)
    except grpc.RpcError as e:
        raise click.ClickException(e.details() if e.code() == grpc.StatusCode.INVALID_ARGUMENT
                                   else f"the runtime (pid {info.pid}) did not answer: {e.details()}") from None
    finally:
        channel.close()
    rows = [json.loads(r) for r in reply.rows]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(_table(rows, COLUMNS[kind]))
    more = f" (of {reply.total}: --limit)" if reply.total > len(rows) else ""
    click.echo(f"{len(rows)} {kind}{more}")


def _table(rows: list[dict], columns) -> str:
    cells = [[c.upper() for c in columns]] + [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells)


def _cell(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else ""
    text = "" if v is None else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


@click.command("logs")
@click.argument("instance_id")
@click.option("--follow", is_flag=True, help="Keep printing what the worker writes until the instance ends "
                                             "(or Ctrl-C).")
@click.option("--tail", type=click.IntRange(min=1), default=None, help="Only the last N lines.")
@click.option("-f", "--file", "session_file", default=None, help="A session directory or its session.json.")
def logs(instance_id, follow, tail, session_file) -> None:
    """Print what an instance's worker wrote (stdout and stderr), from whichever node it runs on."""
    import grpc
    from yr_runtime.proto import control_pb2 as pb
    info, channel, stub, md = _stub(session_file)
    offset = -1 if tail else 0
    try:
        while True:
            chunk = stub.ReadLog(pb.ReadLogRequest(instance_id=instance_id, offset=offset, tail_lines=tail or 0),
                                 timeout=RPC_TIMEOUT, metadata=md)
            sys.stdout.buffer.write(chunk.data)
            sys.stdout.flush()
            offset = chunk.next_offset
            if chunk.data:
                if tail and not follow:
                    return
                continue   # maybe more than one read's worth: read on at once
            if not follow or not chunk.alive:
                return
            time.sleep(FOLLOW_EVERY)
    except grpc.RpcError as e:
        raise click.ClickException(e.details() if e.code() == grpc.StatusCode.NOT_FOUND
                                   else f"the runtime (pid {info.pid}) did not answer: {e.details()}") from None
    except KeyboardInterrupt:
        pass
    finally:
        channel.close()


@click.command("wait-nodes")
@click.argument("count", type=click.IntRange(min=1))
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds to wait before failing.")
@click.option("-f", "--file", "session_file", default=None, help="A session directory or its session.json.")
def wait_nodes(count, timeout, session_file) -> None:
    """Wait until the cluster has COUNT nodes (the master's own included), showing progress."""
    import grpc
    from yr_runtime.observe.progress import Progress
    from yr_runtime.proto import control_pb2 as pb
    info, channel, stub, md = _stub(session_file)
    shown, deadline = Progress("waiting for nodes", after=0.5), time.monotonic() + timeout
    try:
        while True:
            try:
                have = stub.List(pb.ListRequest(kind="nodes"), timeout=RPC_TIMEOUT, metadata=md).total
            except grpc.RpcError as e:
                raise click.ClickException(f"the runtime (pid {info.pid}) did not answer: {e.details()}") from None
            if have >= count:
                shown.done(f"{have} nodes")
                click.echo(f"{have} nodes in the cluster")
                return
            if time.monotonic() >= deadline:
                raise click.ClickException(f"only {have} of {count} nodes joined within {timeout:g}s")
            shown.update(f"{have} of {count} nodes")
            time.sleep(0.5)
    finally:
        channel.close()


def register(group: click.Group) -> None:
    group.add_command(list_cmd)
    group.add_command(logs)
    group.add_command(wait_nodes)

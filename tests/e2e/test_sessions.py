"""Session roots on a shared machine: each user has their own, runtimes of other users or
other roots are never seen or touched, stale sessions are cleaned, and the `yr` command
answers every bad input with one line."""
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

import yr
from yr_runtime.local import session as sessions
from yr_runtime.wire import bodies
from yr_testing import SHM_PREFIX, Daemon, leftover_files, run_script, wait_no_runtime_processes
from test_examples import yr_cli

SHOW_SESSION = ("import yr\nyr.init()\n"
                "print('SESSION', yr._context._rt.info.session_dir, flush=True)\n"
                "@yr.instance\nclass A:\n    def ping(self): return 1\n"
                "assert yr.get(A.invoke().ping.invoke()) == 1\nyr.finalize()\n")


def cli_env(root) -> dict:
    return {"YR_SESSION_ROOT": str(root)}


def started_pid(out) -> int:
    assert out.returncode == 0, out.stderr
    return int(re.search(r"started \(pid (\d+)\)", out.stdout).group(1))


# ---- item 3: one session root per user --------------------------------------------------------

@pytest.fixture
def throwaway_user():
    """A user created for this test (and removed after it, with everything it ran and made)."""
    if os.geteuid() != 0:
        pytest.skip("creating a user needs root (CI runs as root)")
    name = f"yrt{os.getpid() % 100000}"
    subprocess.run(["userdel", name], capture_output=True)
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    user = pwd.getpwnam(name)
    try:
        yield user
    finally:
        for p in psutil.process_iter(["uids"]):
            if p.info["uids"] and p.info["uids"].real == user.pw_uid:
                try:
                    p.kill()
                except psutil.Error:
                    pass
        shutil.rmtree(f"/tmp/yr-{user.pw_uid}", ignore_errors=True)
        subprocess.run(["userdel", name], capture_output=True)


def as_user(user, args, env, timeout=90):
    """Runs `args` as the user, in a private mount namespace where it can reach the Python and
    the checkout this test uses even if they live under a directory closed to others (/root)."""
    script = " && ".join([*_expose(sys.base_prefix, sys.prefix, str(Path(yr.__file__).parents[2])),
                          f'exec setpriv --reuid={user.pw_uid} --regid={user.pw_gid} --clear-groups -- "$@"'])
    return subprocess.run(["unshare", "-m", "--", "sh", "-c", script, "sh", *args], capture_output=True,
                          text=True, timeout=timeout, cwd="/", env=env)


def _expose(*paths) -> list[str]:
    """Shell commands that put a tmpfs (mode 0755) over each directory others may not enter
    on the way to `paths`, with the entries on those ways mounted back into it (all of them:
    a venv and a checkout side by side in one closed directory both need to come back)."""
    entries: dict[Path, list[Path]] = {}
    for path in paths:
        parts = Path(os.path.realpath(path)).parts
        for i in range(1, len(parts) - 1):
            closed, entry = Path(*parts[:i + 1]), Path(*parts[:i + 2])
            if not os.stat(closed).st_mode & 0o001:
                if entry not in entries.setdefault(closed, []):
                    entries[closed].append(entry)
                break
    cmds = []
    for closed, inside in entries.items():
        stages = [tempfile.mkdtemp(prefix="yr-expose-") for _ in inside]
        cmds += [f"mount --bind {entry} {stage}" for entry, stage in zip(inside, stages)]
        cmds.append(f"mount -t tmpfs -o mode=0755 tmpfs {closed}")
        for entry, stage in zip(inside, stages):
            cmds += [f"mkdir {entry}", f"mount --move {stage} {entry}", f"rmdir {stage}"]
    return cmds


def test_each_user_has_a_session_root_of_its_own(throwaway_user, tmp_path):
    user = throwaway_user
    # Root's default root: $XDG_RUNTIME_DIR/yr (a directory of its own, not the test run's root).
    xdg = Path(tempfile.mkdtemp(dir=tmp_path))
    base = {k: v for k, v in os.environ.items() if k != "YR_SESSION_ROOT"}
    root_env = dict(base, XDG_RUNTIME_DIR=str(xdg))
    # The user inherits an XDG_RUNTIME_DIR it cannot write (as after `su`): it must fall back to /tmp/yr-<uid>.
    user_env = dict(base, XDG_RUNTIME_DIR=str(xdg), HOME="/")
    user_root = Path(f"/tmp/yr-{user.pw_uid}")
    cli = [sys.executable, "-m", "yr_runtime.cli"]

    root_pid = started_pid(subprocess.run([*cli, "start", "--master"], capture_output=True, text=True,
                                          timeout=60, env=root_env))
    try:
        used = subprocess.run([sys.executable, "-c", SHOW_SESSION], capture_output=True, text=True,
                              timeout=90, env=root_env)
        assert used.returncode == 0, used.stderr
        assert f"SESSION {xdg / 'yr'}/" in used.stdout

        none = as_user(user, [*cli, "status"], user_env)
        assert none.returncode != 0 and "no yr runtime is running" in none.stderr, none.stderr
        assert "Traceback" not in none.stderr
        temp = as_user(user, [sys.executable, "-c", SHOW_SESSION], user_env)
        assert temp.returncode == 0, temp.stderr
        assert f"SESSION {user_root}/" in temp.stdout
        st = os.stat(user_root)
        assert (st.st_uid, oct(st.st_mode & 0o777)) == (user.pw_uid, "0o700")

        user_pid = started_pid(as_user(user, [*cli, "start", "--master"], user_env))
        assert as_user(user, [sys.executable, "-c", SHOW_SESSION], user_env).returncode == 0
        status = as_user(user, [*cli, "status"], user_env)
        assert status.returncode == 0 and f"runtime pid {user_pid}," in status.stdout, status.stderr
        mine = subprocess.run([*cli, "status"], capture_output=True, text=True, timeout=60, env=root_env)
        assert f"runtime pid {root_pid}," in mine.stdout, mine.stderr
        stopped = as_user(user, [*cli, "stop"], user_env)
        assert stopped.returncode == 0 and f"stopped (pid {user_pid})" in stopped.stdout, stopped.stderr
        assert psutil.pid_exists(root_pid) and not psutil.pid_exists(user_pid)
    finally:
        stop = subprocess.run([*cli, "stop"], capture_output=True, text=True, timeout=60, env=root_env)
    assert f"stopped (pid {root_pid})" in stop.stdout, stop.stderr


def test_a_session_root_of_another_user_or_writable_by_others_is_refused(throwaway_user):
    user = throwaway_user
    env = {k: v for k, v in os.environ.items() if k not in ("YR_SESSION_ROOT", "XDG_RUNTIME_DIR")}
    env["HOME"] = "/"
    planted = Path(f"/tmp/yr-{user.pw_uid}")
    planted.mkdir(mode=0o755)   # made by root before the user ever ran yr
    cli = [sys.executable, "-m", "yr_runtime.cli"]
    for args in ([*cli, "start", "--master"], [*cli, "status"], [*cli, "stop"]):
        out = as_user(user, args, env)
        assert out.returncode != 0 and "belongs to uid 0" in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    init = as_user(user, [sys.executable, "-c", SHOW_SESSION], env)
    assert init.returncode != 0 and "yr.exceptions.InitError" in init.stderr and "belongs to uid 0" in init.stderr
    os.chown(planted, user.pw_uid, user.pw_gid)
    os.chmod(planted, 0o777)
    out = as_user(user, [*cli, "start", "--master"], env)
    assert out.returncode != 0 and "others can write it" in out.stderr, out.stderr
    assert os.listdir(planted) == []


def test_the_default_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("YR_SESSION_ROOT", str(tmp_path / "explicit"))
    assert sessions.default_root() == tmp_path / "explicit"
    monkeypatch.delenv("YR_SESSION_ROOT")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert sessions.default_root() == tmp_path / "yr"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "missing"))
    assert sessions.default_root() == Path(f"/tmp/yr-{os.geteuid()}")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert sessions.default_root() == Path(f"/tmp/yr-{os.geteuid()}")


# ---- item 14: stale sessions, prefixes, errors, status ----------------------------------------

def test_stop_never_signals_a_process_that_took_the_pid_of_a_stale_session(tmp_path):
    root = tmp_path / "s"
    stranger = subprocess.Popen(["sleep", "600"])
    other = Daemon(root=tmp_path / "other")   # a yr daemon, but not of the stale session
    try:
        for pid, age in ((stranger.pid, 0), (other.proc.pid, 3600)):
            d = sessions.make_session_dir(root)
            sessions.write_info(sessions.SessionInfo(str(d), "unix:/nowhere", "/nowhere", pid=pid))
            old = time.time() - age   # written before `other` started: its pid was reused
            os.utime(d / sessions.INFO_FILE, (old, old))
            sessions.mark_latest(d, root)
            out = yr_cli("stop", env=cli_env(root))
            assert out.returncode != 0 and "no yr runtime is running" in out.stderr, out.stderr
            out = yr_cli("stop", "-f", str(d), env=cli_env(root))
            assert out.returncode != 0 and "nothing to stop" in out.stderr, out.stderr
            status = yr_cli("status", env=cli_env(root))
            assert status.returncode != 0 and "no yr runtime is running" in status.stderr
        assert stranger.poll() is None and other.proc.poll() is None
        assert yr_cli("start", "--master", env=cli_env(root)).returncode == 0   # cleans both stale sessions
        yr_cli("stop", env=cli_env(root))
        assert [p for p in root.iterdir() if p.name != "latest" and (p / "sock").exists()] == []
        assert stranger.poll() is None and other.proc.poll() is None
    finally:
        stranger.kill()
        stranger.wait()
        other.stop()
    shutil.rmtree(root)   # the session the test started keeps its logs


def test_a_runtime_started_with_a_log_dir_prefix_is_found(tmp_path):
    root, prefix = tmp_path / "s", tmp_path / "logs"
    pid = started_pid(yr_cli("start", "--master", "--log-dir-prefix", str(prefix), env=cli_env(root)))
    try:
        session_dir = next(p for p in prefix.iterdir())
        assert (session_dir / "logs" / "daemon.log").exists()
        status = yr_cli("status", env=cli_env(root))
        assert status.returncode == 0 and f"runtime pid {pid}," in status.stdout, status.stderr
        again = yr_cli("start", "--master", env=cli_env(root))
        assert again.returncode != 0 and "already running" in again.stderr
        used = run_script(SHOW_SESSION, env=cli_env(root))
        assert used.returncode == 0 and f"SESSION {session_dir}\n" in used.stdout, used.stderr
    finally:
        stop = yr_cli("stop", env=cli_env(root))
    assert stop.returncode == 0 and f"stopped (pid {pid})" in stop.stdout, stop.stderr
    assert not (root / "latest").exists()
    assert wait_no_runtime_processes(10, root=str(root)) == []


@pytest.mark.parametrize("args, message", [
    (["status", "-f", "/nonexistent"], "cannot read the yr session /nonexistent"),
    (["stop", "-f", "/nonexistent/session.json"], "cannot read the yr session"),
    (["status", "-f", "{garbage}"], "is not a yr session"),
    (["stop", "--timeout", "soon"], "soon"),
    (["start", "--master", "--log-dir-prefix", "/proc/1/yr"], "/proc/1/yr"),
    (["start", "--master", "--log-dir-prefix", "{file}"], "not a directory"),
    (["start", "--master", "--cpu", "many"], "many"),
    (["start"], "yr start --master"),
    (["status"], "no yr runtime is running"),
])
def test_every_cli_error_is_one_line(args, message, tmp_path):
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / sessions.INFO_FILE).write_text('{"pid": "x"}')
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    args = [a.format(garbage=garbage, file=a_file) for a in args]
    message = message.format(garbage=garbage, file=a_file)
    out = yr_cli(*args, env=cli_env(tmp_path / "s"))
    assert out.returncode != 0
    assert message in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert len([line for line in out.stderr.splitlines() if line.startswith("Error")]) == 1, out.stderr


def test_a_killed_temporary_runtime_is_cleaned_by_the_next_init_and_start(tmp_path):
    root = tmp_path / "s"
    hang = SHOW_SESSION.replace("yr.finalize()\n", "print('PID', yr._context._rt.info.pid, flush=True)\n"
                                "import time; time.sleep(600)\n")
    for cleaner in ("init", "start"):
        driver = subprocess.Popen([sys.executable, "-c", hang], stdout=subprocess.PIPE, text=True,
                                  env=dict(os.environ, **cli_env(root)))
        session_dir = driver.stdout.readline().split()[1]
        daemon_pid = int(driver.stdout.readline().split()[1])
        os.kill(daemon_pid, signal.SIGKILL)
        driver.kill()
        driver.wait()
        driver.stdout.close()
        assert wait_no_runtime_processes(15, root=str(root)) == []
        assert leftover_files(root) != [] and os.path.isdir(session_dir)
        if cleaner == "init":
            out = run_script(SHOW_SESSION, env=cli_env(root))
        else:
            out = yr_cli("start", "--master", env=cli_env(root))
            yr_cli("stop", env=cli_env(root))
        assert out.returncode == 0, out.stderr
        assert not os.path.exists(session_dir)
        assert leftover_files(root) == []
    shutil.rmtree(root)


def test_the_agent_removes_the_socket_of_a_killed_worker(tmp_path):
    d = Daemon("--warm", "0", root=tmp_path / "s")
    try:
        yr.init(d.config())

        @yr.instance
        class P:
            def pid(self):
                return os.getpid()
        handles = [P.invoke() for _ in range(2)]
        pids = [yr.get(h.pid.invoke()) for h in handles]
        sock = sessions.socket_dir(d.session_dir)
        assert len(list(sock.glob("w-*.sock"))) == 2
        os.kill(pids[0], signal.SIGKILL)
        handles[1].terminate(is_sync=True)
        deadline = time.monotonic() + 30
        while list(sock.glob("w-*.sock")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(sock.glob("w-*.sock")) == []
    finally:
        yr.finalize()
        d.stop()
    assert leftover_files(tmp_path) == []


def test_status_lists_live_instances_first_and_only_the_last_dead_ones(tmp_path):
    d = Daemon(root=tmp_path / "s")
    try:
        yr.init(d.config())

        @yr.instance
        class Short:
            def ping(self):
                return 1
        for _ in range(23):
            h = Short.invoke()
            yr.get(h.ping.invoke())
            h.terminate(is_sync=True)
        live = Short.options(yr.InvokeOptions(name="still-here")).invoke()
        yr.get(live.ping.invoke())
        out = yr_cli("status", "-f", d.session_dir)
    finally:
        yr.finalize()
        d.stop()
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "instances: 1 alive, 23 dead" in lines
    rows = [line for line in lines if "Short" in line]
    assert "name=still-here" in rows[0] and "RUNNING" in rows[0]
    assert len(rows) == 1 + 20 and all("DEAD" in r for r in rows[1:])
    assert "  ... 3 more dead (older) not shown" in lines


# ---- item 16: a test run never touches a runtime it did not start ------------------------------

def test_a_runtime_of_another_root_is_never_touched(tmp_path):
    foreign, own = cli_env(tmp_path / "foreign"), cli_env(tmp_path / "own")
    foreign_pid = started_pid(yr_cli("start", "--master", env=foreign))
    foreign_latest = os.readlink(tmp_path / "foreign" / "latest")
    try:
        out = yr_cli("status", env=own)
        assert out.returncode != 0 and "no yr runtime is running" in out.stderr
        out = yr_cli("stop", env=own)
        assert out.returncode != 0 and "no yr runtime is running" in out.stderr
        temp = run_script(SHOW_SESSION, env=own)
        assert temp.returncode == 0 and f"SESSION {tmp_path / 'own'}/" in temp.stdout, temp.stderr
        own_pid = started_pid(yr_cli("start", "--master", env=own))
        status = yr_cli("status", env=own)
        assert f"runtime pid {own_pid}," in status.stdout
        used = run_script(SHOW_SESSION, env=own)
        assert used.returncode == 0 and f"SESSION {tmp_path / 'own'}/" in used.stdout, used.stderr
        assert yr_cli("stop", env=own).returncode == 0
        assert yr_cli("stop", env=own).returncode != 0
        assert psutil.pid_exists(foreign_pid) and sessions.daemon_process(sessions.read_info(foreign_latest))
        assert os.readlink(tmp_path / "foreign" / "latest") == foreign_latest
        assert f"runtime pid {foreign_pid}," in yr_cli("status", env=foreign).stdout
    finally:
        stopped = yr_cli("stop", env=foreign)
    assert f"stopped (pid {foreign_pid})" in stopped.stdout


def test_the_leak_check_sees_sockets_stale_sessions_and_shared_memory_of_this_run(tmp_path):
    root = tmp_path / "s"
    assert leftover_files(root) == []
    stale = sessions.make_session_dir(root)
    sessions.write_info(sessions.SessionInfo(str(stale), "unix:/nowhere", "/nowhere", pid=2**22 + 7))
    (sessions.socket_dir(stale) / "w-1-1.sock").touch()
    shm = Path(yr._serialization.SHM_DIR) / f"{SHM_PREFIX}-leaktest"
    shm.touch()
    spill = Path(bodies.spill_dir(stale)) / f"{SHM_PREFIX}-spilled"
    spill.parent.mkdir(exist_ok=True)
    spill.touch()
    try:
        found = leftover_files(root)
        assert str(stale) in found and str(sessions.socket_dir(stale) / "w-1-1.sock") in found
        assert str(shm) in found and str(spill) in found
    finally:
        shm.unlink()
        spill.unlink()
        sessions.remove_socket_dir(stale)
    assert leftover_files(root) == []   # a session that cleaned up keeps its logs: not a leak
    shutil.rmtree(root)

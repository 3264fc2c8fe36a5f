"""The seed page's Java programs (examples/java), verbatim: built with Maven against the
installed SDK (by coordinates) and run with `mvn exec:exec`, and built with plain javac and
run with `java -cp <classes>:<yr-sdk jar>:<py4j jar>`, the class path docs/java.md gives."""
import os
import re
import subprocess
import sys

import pytest

from _java_support import EXAMPLES, NEEDS_JAVA, SEED, mvn, run, run_java, wait_no_java_processes

pytestmark = NEEDS_JAVA

SEED_FILES = [("counter", "Counter.java"), ("counter", "Main.java"),
              ("resources", "Counter.java"), ("resources", "Main.java")]


def yr_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "yr_runtime.cli", *args], capture_output=True, text=True,
                          timeout=60, env=env)


@pytest.fixture
def fresh_root(tmp_path):
    """A session root nobody else uses, so YR.init() finds no runtime unless the test starts one."""
    env = dict(os.environ, YR_SESSION_ROOT=str(tmp_path / "sessions"))
    env.pop("YR_SERVER_ADDRESS", None)
    env.pop("YR_BRIDGE_MODULE", None)
    return env


@pytest.fixture(scope="module")
def built_examples(sdk):
    mvn("-f", EXAMPLES / "pom.xml", "package")
    return EXAMPLES


@pytest.mark.skipif(not SEED.exists(), reason="the seed page is not beside this checkout")
def test_examples_are_the_seed_page_verbatim():
    blocks = re.findall(r"```java\n(.*?)```", SEED.read_text(), re.S)
    files = [(EXAMPLES / d / "src/main/java/com/example" / f).read_text() for d, f in SEED_FILES]
    assert files == blocks


def test_counter_with_plain_javac_and_a_temporary_runtime(sdk, tmp_path, fresh_root):
    classes = tmp_path / "classes"
    run(["javac", "-d", classes, "-cp", sdk.classpath(),
         *sorted((EXAMPLES / "counter" / "src/main/java").rglob("*.java"))])
    proc = run_java(sdk.classpath(classes), "com.example.Main", env=fresh_root, timeout=120)
    assert (proc.returncode, proc.stdout) == (0, "3:3\n"), proc.stderr[-4000:]
    assert wait_no_java_processes() == []


def test_examples_with_maven_against_yr_start(built_examples, fresh_root):
    started = yr_cli("start", "--master", "-s", 'function_agent.args.custom_resources="{\\"ssd\\":1}"',
                     env=fresh_root)
    assert started.returncode == 0, started.stderr
    try:
        for example, expected in [("counter", "3:3\n"), ("resources", "3\n"), ("handles", "3\n3\n")]:
            proc = subprocess.run(["mvn", "-B", "-q", "-o", "-f", str(built_examples / example / "pom.xml"), "exec:exec"],
                                  capture_output=True, text=True, timeout=180, env=fresh_root)
            # Debian's Maven wraps output in ANSI resets even in batch mode: drop them.
            stdout = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
            assert (proc.returncode, stdout) == (0, expected), f"{example}: {stdout}\n{proc.stderr[-4000:]}"
        status = yr_cli("status", env=fresh_root)
        assert "ssd: 1/1 available" in status.stdout, status.stdout
    finally:
        stopped = yr_cli("stop", env=fresh_root)
    assert stopped.returncode == 0, stopped.stderr
    assert wait_no_java_processes() == []

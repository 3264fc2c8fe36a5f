"""Fixtures of the Java SDK tests: the SDK built and installed from sdk_java/ (so the tests
always exercise the current sources, and the Maven route finds it by coordinates), the test
programs of programs/ compiled with plain javac, and the backend a Java driver runs against.

Backends: "runtime" runs a driver against the shared test runtime of tests/conftest.py
(custom resources ssd and gpu); "fake" against tests/sdk_java/fake_bridge.py, an
in-process stand-in for yr._bridge that tests the Java layers without a runtime.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from _java_support import HERE, PROGRAMS, SDK, Sdk, mvn, run

@pytest.fixture(scope="session")
def sdk() -> Sdk:
    """sdk_java built and installed into the local Maven repository (JUnit runs in its own test)."""
    mvn("-f", SDK / "pom.xml", "install", "-DskipTests")
    return Sdk()


@pytest.fixture(scope="session")
def programs(sdk, tmp_path_factory) -> Path:
    """tests/sdk_java/programs compiled with plain javac against the SDK jar."""
    out = tmp_path_factory.mktemp("java-programs")
    run(["javac", "-nowarn", "-d", out, "-cp", sdk.classpath(), *sorted(PROGRAMS.rglob("*.java"))])
    return out


@pytest.fixture(params=["fake", "runtime"])
def backend(request) -> dict:
    """Environment for a Java driver: the fake bridge, or the shared test runtime."""
    env = dict(os.environ)
    env.pop("YR_BRIDGE_MODULE", None)
    if request.param == "fake":
        env["YR_BRIDGE_MODULE"] = "fake_bridge"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    else:
        daemon = request.getfixturevalue("daemon")
        env["YR_SERVER_ADDRESS"] = str(daemon.session_dir)
    env["YR_BACKEND"] = request.param
    return env

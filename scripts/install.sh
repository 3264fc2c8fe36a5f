#!/usr/bin/env bash
# Installs everything a yr user needs on this machine: the Python package (with the `yr`
# command), the C++ SDK (libyr, headers, CMake package) and the Java SDK jar (into the
# local Maven repository and the Python environment's share/yr/java). Safe to run again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PYTHON=${PYTHON:-python3}

if ! command -v etcd >/dev/null && [ ! -x /usr/bin/etcd ]; then
  # `yr start --master --etcd auto` runs its own etcd from Debian's etcd-server package; the
  # system service the package enables (on hosts with systemd) is not needed: stopped again.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== etcd (Debian package etcd-server)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server
    systemctl disable --now etcd >/dev/null 2>&1 || true
  else
    echo "note: etcd is not installed; --etcd auto needs it: sudo apt-get install etcd-server" >&2
  fi
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  # The test suite drives the dashboard in headless chromium (tests/e2e/test_dashboard.py).
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== chromium and its WebDriver (Debian packages chromium, chromium-driver), for the dashboard's tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  else
    echo "note: the dashboard's tests need chromium: sudo apt-get install chromium chromium-driver" >&2
  fi
fi

echo "== Python package"
"$PYTHON" -m pip install --disable-pip-version-check -q -e ".[test]"

if [ -x sdk_cpp/build.sh ]; then
  echo "== C++ SDK"
  sdk_cpp/build.sh
fi

if [ -f sdk_java/pom.xml ]; then
  echo "== Java SDK"
  # With its JUnit suite: this also fetches the test provider the test suite needs offline.
  mvn -q -B -f sdk_java/pom.xml install
  # Python workers run Java code with this jar when a class path lacks it. Linked into the
  # environment's prefix (like the editable Python install, a rebuild is picked up), so the
  # workers find it whatever HOME or Maven's local repository is.
  prefix=$("$PYTHON" -c 'import sys; print(sys.prefix)')
  mkdir -p "$prefix/share/yr/java"
  ln -sfn "$root/sdk_java/target/yr-sdk-0.1.0.jar" "$prefix/share/yr/java/yr-sdk-0.1.0.jar"
  # Everything the examples' Maven builds use, exec-maven-plugin included, so that
  # `mvn -o ... exec:exec` (as the tests run it) works on a fresh machine.
  mvn -q -B -f examples/java/pom.xml org.apache.maven.plugins:maven-dependency-plugin:3.8.1:go-offline
fi
echo "== yr is installed: try python examples/python/counter.py"

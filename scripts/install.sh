#!/usr/bin/env bash
# Installs everything a yr user needs on this machine: the Python package (with the `yr`
# command), the C++ SDK (libyr, headers, CMake package) and the Java SDK jar (into the
# local Maven repository). Safe to run again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PYTHON=${PYTHON:-python3}

echo "== Python package"
"$PYTHON" -m pip install --disable-pip-version-check -q -e ".[test]"

if [ -x sdk_cpp/build.sh ]; then
  echo "== C++ SDK"
  sdk_cpp/build.sh
fi

if [ -f sdk_java/pom.xml ]; then
  echo "== Java SDK"
  mvn -q -B -f sdk_java/pom.xml -DskipTests install
fi
echo "== yr is installed: try python examples/python/counter.py"

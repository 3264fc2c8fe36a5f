#!/usr/bin/env bash
# Runs the whole test suite (Python, C++ and Java SDKs, end to end) with pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
exec "${PYTHON:-python3}" -m pytest -q "$@"

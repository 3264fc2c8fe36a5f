#!/usr/bin/env bash
# Builds libyr and installs it with its headers, a CMake package (find_package(yr) -> yr::yr)
# and yr-config into a prefix:
#   sdk_cpp/build.sh [PREFIX]
# PREFIX defaults to the prefix of the Python environment that has yr installed
# (python -c 'import sys; print(sys.prefix)'), i.e. the C++ SDK lands beside the Python package:
#   PREFIX/include/yr/yr.h, PREFIX/lib/libyr.so, PREFIX/lib/cmake/yr/yrConfig.cmake, PREFIX/bin/yr-config
# PYTHON selects the interpreter (default: python3 on PATH); BUILD_DIR the build tree.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
python_exe="$("$python" -c 'import sys; print(sys.executable)')"
prefix="${1:-$("$python" -c 'import sys; print(sys.prefix)')}"
build_dir="${BUILD_DIR:-$here/build}"
jobs="$(nproc 2>/dev/null || echo 2)"

cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DPython3_EXECUTABLE="$python_exe" -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$build_dir" -j "$jobs"
cmake --install "$build_dir" >/dev/null
echo "yr C++ SDK installed in $prefix (CMake: -DCMAKE_PREFIX_PATH=$prefix; flags: $prefix/bin/yr-config)"

#!/usr/bin/env bash
# The project's test command (the README's and CI's): builds the engine, the CUDA kernels when nvcc
# is present, the Python module and the GoogleTest suite in build/, then runs ctest and pytest.
# Extra arguments go to pytest (e.g. `bash tools/test.sh -k conv`).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE="$(command -v python3)"
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"
PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" python3 -m pytest -q tests_py "$@"
